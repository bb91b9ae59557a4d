import { z } from 'zod';
import { callback, defineContract, operation } from '@nest-duplex/protocol';

export const statusContract = defineContract({
  name: 'status',
  operations: {
    dataUpdated: operation.oneWay(z.tuple([])),
  },
  callbacks: {
    showStatus: callback.oneWay(z.tuple([z.string()])),
  },
});
