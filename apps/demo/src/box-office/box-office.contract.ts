import { z } from 'zod';
import { callback, defineContract } from '@nest-duplex/protocol';

/**
 * Callbacks only: no node hosts a box-office service. They come from the
 * box office (apps/box-office), a worker that is not a node, to the watchers
 * of a show (its seat-booking topic).
 */
export const boxOfficeContract = defineContract({
  name: 'box-office',
  operations: {},
  callbacks: {
    /** News about a show, for everyone watching its seat map. */
    announcement: callback.oneWay(z.tuple([z.string(), z.string()])),
  },
});
