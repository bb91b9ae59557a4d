import type { Socket } from 'socket.io';
import { type Ack, type CallbackFrame, type ClosingFrame, DuplexError, EVENTS, isErrorCode, type SessionFrame } from '@nest-duplex/protocol';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../runtime/nesting-depth';
import type { ClientConnection } from '../runtime/client-connection';
import { writeCallback } from './callback-packet';
import { type Backlog, type EngineSocket, OutboundBound, type OutboundLimits } from './outbound-limits';

/** A session's connection over one Socket.IO socket. */
export class SocketConnection implements ClientConnection {
  private readonly bound: OutboundBound;

  constructor(
    private readonly socket: Socket,
    /** The session frame this connection began with. */
    private readonly frame: SessionFrame,
    limits: OutboundLimits,
  ) {
    this.bound = new OutboundBound(socket.conn as unknown as EngineSocket, limits);
  }

  /** The replay it began with is written: later callbacks are held to the outbound bound. */
  replayed(): void {
    this.bound.replayed();
  }

  /** What was waiting when the connection was cut as a slow consumer; null if it was not. */
  get slow(): Backlog | null {
    return this.bound.exceeded;
  }

  /** A fresh session frame on the live connection: same session, an unknown number of callbacks missed. */
  gap(): void {
    this.socket.emit(EVENTS.session, { ...this.frame, resumed: true, missed: -1 } satisfies SessionFrame);
  }

  close(reason?: 'displaced'): void {
    if (reason === 'displaced') {
      this.socket.emit(EVENTS.closing, { reason, message: 'another connection resumed this session' } satisfies ClosingFrame);
    }
    this.socket.disconnect(true);
  }

  send(frame: CallbackFrame, seq: number): void {
    if (!this.bound.exceeded) this.bound.wrote(writeCallback(this.socket, frame, seq));
  }

  async request(frame: CallbackFrame, timeoutMs: number): Promise<Ack> {
    let answer: unknown;
    try {
      answer = await this.socket.timeout(timeoutMs).emitWithAck(EVENTS.callback, frame);
    } catch {
      return { ok: false, error: { code: 'TIMEOUT', message: `client did not answer ${frame.service}.${frame.method} within ${timeoutMs} ms` } };
    }
    return toAck(answer, frame);
  }
}

/**
 * A client's answer is untrusted input: anything but a well-formed ack is
 * BAD_REQUEST to the service that asked. Well-formed: `{ ok: true, result }`
 * with `result` nested at most MAX_NESTING_DEPTH deep, or `{ ok: false, error }`
 * with `error` an object whose `code` is one of the protocol's codes.
 */
export function toAck(answer: unknown, frame: Pick<CallbackFrame, 'service' | 'method'>): Ack {
  const value = answer as { ok?: unknown; result?: unknown; error?: unknown } | null;
  const malformed = (what: string): Ack => ({
    ok: false,
    error: { code: 'BAD_REQUEST', message: `client answered ${frame.service}.${frame.method} with ${what}` },
  });
  if (value === null || typeof value !== 'object') return malformed('a malformed ack');
  if (value.ok === true) {
    // The reply crosses the bus as JSON: a result too deep to serialize is refused here, with a code.
    if (nestsDeeperThan(value.result, MAX_NESTING_DEPTH)) return malformed(`a result nested more than ${MAX_NESTING_DEPTH} deep`);
    return { ok: true, result: value.result };
  }
  if (value.ok === false) {
    const error = value.error as { code?: unknown; message?: unknown } | null;
    if (error === null || typeof error !== 'object' || !isErrorCode(error.code)) {
      return malformed('an error that is not { code, message } with a known code');
    }
    return { ok: false, error: DuplexError.fromWire(error).toWire() };
  }
  return malformed('a malformed ack');
}
