import type { CallbackFrame } from '@nest-duplex/protocol';

/**
 * Where callbacks leave for their clients: a node's router, or a worker's
 * client proxy. Every promise settles once the bus has taken the message (a
 * broker confirm) or with a DuplexError: never a silent drop.
 */
export interface CallbackSender {
  /** One-way to one session; UNAVAILABLE if no node holds it. */
  send(sessionId: string, frame: CallbackFrame): Promise<void>;
  /** Request-reply to one session: its client's result, or its error, UNAVAILABLE or TIMEOUT. */
  request(sessionId: string, frame: CallbackFrame, timeoutMs: number): Promise<unknown>;
  /** One-way to every subscriber of a topic on every node, but `exceptSessionId`. */
  publish(topic: string, frame: CallbackFrame, exceptSessionId?: string): Promise<void>;
}
