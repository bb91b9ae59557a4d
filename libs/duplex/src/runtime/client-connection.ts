import type { Ack, CallbackFrame } from '@nest-duplex/protocol';

/**
 * A session's live link to its client. The gateway implements it over a
 * socket; nothing below the gateway knows about Socket.IO.
 */
export interface ClientConnection {
  /** One-way callback, numbered `seq` in its session (the frame may be shared by several sessions). */
  send(frame: CallbackFrame, seq: number): void;
  /** Request-reply callback: resolves with the client's ack, rejects on timeout or disconnect. */
  request(frame: CallbackFrame, timeoutMs: number): Promise<Ack>;
  /** One-way callbacks for this session may have been lost, how many is unknown: tell the client on the live link. */
  gap(): void;
  /** Closes the link from the server side; `displaced`: another connection took the session over, and its client is told so. */
  close(reason?: 'displaced'): void;
}
