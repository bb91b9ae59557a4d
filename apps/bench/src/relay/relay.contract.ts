import { z } from 'zod';
import { callback, defineContract, operation } from '../../../../libs/duplex/src';

/** The benchmark's workload: a client publishes, every subscriber of the topic is called back. */
export const relayContract = defineContract({
  name: 'relay',
  operations: {
    join: operation.requestReply(z.tuple([z.string().max(64)]), z.null()),
    publish: operation.oneWay(z.tuple([z.string().max(64), z.string().max(4_096)])),
  },
  callbacks: {
    message: callback.oneWay(z.tuple([z.string()])),
  },
});
