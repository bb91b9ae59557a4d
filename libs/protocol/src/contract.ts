import { z } from 'zod';
import type { WireError } from './frames';

/** Arguments are a tuple schema: positional, counted, each typed. */
export type ArgsSchema = z.ZodTuple<readonly z.core.SomeType[] | [], null>;

export interface OperationDefinition<A extends ArgsSchema = ArgsSchema, R extends z.ZodType = z.ZodType> {
  readonly args: A;
  readonly result: R;
  /** One-way: the caller gets no result, only the ack once the handler has run (or its error). */
  readonly oneWay: boolean;
  /**
   * Run beside the session's other calls instead of after them. The default
   * (false) is WCF's ConcurrencyMode.Single: one call of a session at a time.
   */
  readonly concurrent: boolean;
}

export interface CallbackDefinition<
  A extends ArgsSchema = ArgsSchema,
  R extends z.ZodType = z.ZodType,
  W extends boolean = boolean,
> {
  readonly args: A;
  readonly result: R;
  readonly oneWay: W;
  /** How long the service waits for a request-reply answer (ms). */
  readonly timeoutMs?: number;
}

export interface ContractDefinition<
  O extends Record<string, OperationDefinition> = Record<string, OperationDefinition>,
  C extends Record<string, CallbackDefinition> = Record<string, CallbackDefinition>,
> {
  /** The service name on the wire. */
  readonly name: string;
  readonly operations: O;
  readonly callbacks: C;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Declares a service contract and its callback contract in one value, shared
 * by the server (handlers, callback proxies) and typed clients.
 */
export function defineContract<
  O extends Record<string, OperationDefinition>,
  C extends Record<string, CallbackDefinition>,
>(definition: ContractDefinition<O, C>): ContractDefinition<O, C> {
  if (!SERVICE_NAME.test(definition.name)) {
    throw new Error(`contract name "${definition.name}" must match ${SERVICE_NAME}`);
  }
  return Object.freeze(definition);
}

interface OperationOptions {
  concurrent?: boolean;
}

export const operation = {
  /** The caller awaits `result` (or an error). */
  requestReply<A extends ArgsSchema, R extends z.ZodType>(
    args: A,
    result: R,
    options: OperationOptions = {},
  ): OperationDefinition<A, R> {
    return { args, result, oneWay: false, concurrent: options.concurrent ?? false };
  },
  /** Fire and forget: acked on acceptance. */
  oneWay<A extends ArgsSchema>(args: A, options: OperationOptions = {}): OperationDefinition<A, z.ZodVoid> {
    return { args, result: z.void(), oneWay: true, concurrent: options.concurrent ?? false };
  },
};

export const callback = {
  /** The service awaits the client's answer, or TIMEOUT after `timeoutMs`. */
  requestReply<A extends ArgsSchema, R extends z.ZodType>(
    args: A,
    result: R,
    options: { timeoutMs?: number } = {},
  ): CallbackDefinition<A, R, false> {
    return { args, result, oneWay: false, timeoutMs: options.timeoutMs };
  },
  oneWay<A extends ArgsSchema>(args: A): CallbackDefinition<A, z.ZodVoid, true> {
    return { args, result: z.void(), oneWay: true };
  },
};

// ---- Types derived from a contract -------------------------------------

type ArgsOf<D extends { args: ArgsSchema }> = z.output<D['args']> extends infer T extends unknown[] ? T : never;
type ResultOf<D extends { result: z.ZodType }> = z.output<D['result']>;
type OneWayKeys<M extends Record<string, { oneWay: boolean }>> = {
  [K in keyof M]: M[K]['oneWay'] extends true ? K : never;
}[keyof M];
type RequestReplyKeys<M extends Record<string, { oneWay: boolean }>> = {
  [K in keyof M]: M[K]['oneWay'] extends false ? K : never;
}[keyof M];

/** What a service class implements: one method per operation. */
export type OperationHandlers<C extends ContractDefinition> = {
  [K in keyof C['operations']]: (
    ...args: ArgsOf<C['operations'][K]>
  ) => ResultOf<C['operations'][K]> | Promise<ResultOf<C['operations'][K]>>;
};

/** What a client holds: every operation returns a promise. */
export type OperationsOf<C extends ContractDefinition> = {
  [K in keyof C['operations']]: (...args: ArgsOf<C['operations'][K]>) => Promise<ResultOf<C['operations'][K]>>;
};

/** What a client implements: one method per callback. */
export type CallbacksOf<C extends ContractDefinition> = {
  [K in keyof C['callbacks']]: (
    ...args: ArgsOf<C['callbacks'][K]>
  ) => ResultOf<C['callbacks'][K]> | Promise<ResultOf<C['callbacks'][K]>>;
};

/** The service's handle on one client: request-reply callbacks resolve with the answer. */
export type CallbackProxy<C extends ContractDefinition> = {
  [K in keyof C['callbacks']]: (...args: ArgsOf<C['callbacks'][K]>) => Promise<ResultOf<C['callbacks'][K]>>;
};

/** The service's handle on a topic: only one-way callbacks fan out. */
export type TopicProxy<C extends ContractDefinition> = {
  [K in OneWayKeys<C['callbacks']>]: (...args: ArgsOf<C['callbacks'][K]>) => Promise<void>;
};

/** One recipient's answer to a gathered request-reply callback: its result, or why there is none. */
export type GatherAnswer<R> = { sessionId: string; ok: true; result: R } | { sessionId: string; ok: false; error: WireError };

/**
 * The service's handle for scatter-gather: a request-reply callback asked of
 * every recipient at once, resolving with one answer per recipient.
 */
export type GatherProxy<C extends ContractDefinition> = {
  [K in RequestReplyKeys<C['callbacks']>]: (...args: ArgsOf<C['callbacks'][K]>) => Promise<GatherAnswer<ResultOf<C['callbacks'][K]>>[]>;
};
