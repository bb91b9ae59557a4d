import { z } from 'zod';
import { callback, defineContract, operation } from '@nest-duplex/protocol';

/** The benchmark's workload: a client publishes, every subscriber of the topic is called back. */
export const relayContract = defineContract({
  name: 'relay',
  operations: {
    join: operation.requestReply(z.tuple([z.string().max(64)]), z.null()),
    // Concurrent: a relay needs no per-session turn-taking, and in the default (serial) mode each
    // publish would wait for the previous one's broker confirm. Handlers still start in arrival
    // order and publish before their first await, so a session's messages leave in order.
    publish: operation.oneWay(z.tuple([z.string().max(64), z.string().max(4_096)]), { concurrent: true }),
  },
  callbacks: {
    message: callback.oneWay(z.tuple([z.string()])),
  },
});
