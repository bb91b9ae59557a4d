import { type CallbackFrame, DuplexError } from '@nest-duplex/protocol';
import { checkTopic, userTopic } from '../presence/user-topic';

/**
 * The pattern of a DuplexClientProxy message: which callback, and to whom
 * (exactly one of session, user and topic). The data is its arguments, an
 * array. `emit` raises a one-way callback; `send` asks a request-reply one
 * of one session and yields the answer.
 */
export interface DuplexCallbackPattern {
  service: string;
  method: string;
  session?: string;
  user?: string;
  topic?: string;
  /** `send` only: how long to wait for the answer (ms); default callbackTimeoutMs. */
  timeoutMs?: number;
}

export type CallbackTarget = { kind: 'session'; sessionId: string } | { kind: 'topic'; topic: string };

/** A pattern and its data as the router takes them, or BAD_REQUEST saying what is wrong. */
export function parseCallbackPacket(pattern: unknown, data: unknown): { target: CallbackTarget; frame: CallbackFrame; timeoutMs?: number } {
  const p = (pattern ?? {}) as Partial<Record<keyof DuplexCallbackPattern, unknown>>;
  if (typeof p.service !== 'string' || typeof p.method !== 'string') {
    throw new DuplexError('BAD_REQUEST', 'a callback pattern names its service and method: { service, method, session | user | topic }');
  }
  const targets = (['session', 'user', 'topic'] as const).filter((key) => p[key] !== undefined);
  const key = targets[0];
  if (targets.length !== 1 || typeof p[key] !== 'string' || p[key] === '') {
    throw new DuplexError('BAD_REQUEST', `a callback pattern names exactly one of session, user and topic (a string); got ${targets.join(', ') || 'none'}`);
  }
  if (!Array.isArray(data)) throw new DuplexError('BAD_REQUEST', `${p.service}.${p.method}: the data is the callback's arguments, an array`);
  if (p.timeoutMs !== undefined && !(typeof p.timeoutMs === 'number' && p.timeoutMs > 0)) {
    throw new DuplexError('BAD_REQUEST', 'timeoutMs is a number of milliseconds above 0');
  }
  const to = p[key] as string;
  if (key === 'topic') checkTopic(to);
  const target: CallbackTarget =
    key === 'session' ? { kind: 'session', sessionId: to } : { kind: 'topic', topic: key === 'user' ? userTopic(to) : to };
  return { target, frame: { service: p.service, method: p.method, args: data as unknown[] }, timeoutMs: p.timeoutMs as number | undefined };
}
