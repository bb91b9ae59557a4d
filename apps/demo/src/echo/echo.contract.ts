import { z } from 'zod';
import { callback, defineContract, operation } from '@nest-duplex/protocol';

const gatherAnswer = z.union([
  z.object({ sessionId: z.string(), ok: z.literal(true), result: z.string() }),
  z.object({ sessionId: z.string(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

/**
 * Not a seed service: it exercises what the seeds do not, request-reply
 * callbacks and concurrency, for the test suites and for trying a client out.
 */
export const echoContract = defineContract({
  name: 'echo',
  operations: {
    /** Asks the caller's `answer` callback from inside the operation and returns its reply. */
    askCaller: operation.requestReply(z.tuple([z.string().max(1_000)]), z.string()),
    /** Asks another session's `answer` callback, wherever it is connected. */
    askSession: operation.requestReply(z.tuple([z.string().max(128), z.string().max(1_000)]), z.string()),
    /** Waits, in the session's order. Answers what it was given. */
    wait: operation.requestReply(z.tuple([z.number().int().min(0).max(5_000), z.string().max(64)]), z.string()),
    /** Waits beside the session's other calls. */
    waitConcurrently: operation.requestReply(z.tuple([z.number().int().min(0).max(5_000), z.string().max(64)]), z.string(), {
      concurrent: true,
    }),
    /** Tells every session of a user, on every node, `told(text)`. */
    tellUser: operation.oneWay(z.tuple([z.string().min(1).max(64), z.string().max(1_000)])),
    /** The ids of a user's sessions anywhere in the cluster. */
    sessionsOf: operation.requestReply(z.tuple([z.string().min(1).max(64)]), z.array(z.string())),
    /** Asks `answer(question)` of every subscriber of a topic on every node at once; one answer per subscriber, within the callback's timeout. */
    gatherAnswers: operation.requestReply(z.tuple([z.string().min(1).max(128), z.string().max(1_000)]), z.array(gatherAnswer)),
    /** Answers the caller's session id and this node's id. */
    whoAmI: operation.requestReply(z.tuple([]), z.object({ sessionId: z.string(), nodeId: z.string() })),
  },
  callbacks: {
    answer: callback.requestReply(z.tuple([z.string()]), z.string(), { timeoutMs: 1_500 }),
    told: callback.oneWay(z.tuple([z.string()])),
  },
});
