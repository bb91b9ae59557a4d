import type { Socket } from 'socket.io';
import { Ack, CallbackFrame, DuplexError, EVENTS, SessionFrame } from '@nest-duplex/protocol';
import type { ClientConnection } from '../runtime/client-connection';
import { writeCallback } from './callback-packet';

/** A session's connection over one Socket.IO socket. */
export class SocketConnection implements ClientConnection {
  constructor(
    private readonly socket: Socket,
    /** The session frame this connection began with. */
    private readonly frame: SessionFrame,
  ) {}

  /** A fresh session frame on the live connection: same session, an unknown number of callbacks missed. */
  gap(): void {
    this.socket.emit(EVENTS.session, { ...this.frame, resumed: true, missed: -1 } satisfies SessionFrame);
  }

  close(): void {
    this.socket.disconnect(true);
  }

  send(frame: CallbackFrame, seq: number): void {
    writeCallback(this.socket, frame, seq);
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

/** A client's answer is untrusted input: anything but a well-formed ack is BAD_REQUEST. */
function toAck(answer: unknown, frame: CallbackFrame): Ack {
  const value = answer as { ok?: unknown; result?: unknown; error?: unknown } | null;
  if (value && typeof value === 'object') {
    if (value.ok === true) return { ok: true, result: value.result };
    if (value.ok === false) return { ok: false, error: DuplexError.fromWire(value.error).toWire() };
  }
  return { ok: false, error: { code: 'BAD_REQUEST', message: `client answered ${frame.service}.${frame.method} with a malformed ack` } };
}
