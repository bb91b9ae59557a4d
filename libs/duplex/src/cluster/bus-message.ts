import type { WireError } from '../protocol';

/** A callback to deliver to the sessions behind an address. */
export interface CallbackMessage {
  type: 'callback';
  service: string;
  method: string;
  args: unknown[];
  /** Topic fan-out skips this session (the caller, for "notify the others"). */
  exceptSessionId?: string;
  /** Present on request-reply callbacks: where and how to answer. */
  reply?: { nodeId: string; correlationId: string; timeoutMs: number };
}

/** The answer to a request-reply callback, sent to the origin node. */
export interface ReplyMessage {
  type: 'reply';
  correlationId: string;
  ok: boolean;
  result?: unknown;
  error?: WireError;
}

/** The whole cluster protocol: a closed set of typed messages. */
export type BusMessage = CallbackMessage | ReplyMessage;
