/**
 * The Socket.IO wire protocol (default namespace). This file is the executable
 * form of docs/protocol.md; both the gateway and the client SDK speak it.
 */
import type { ErrorCode } from './error-codes';

export const EVENTS = {
  /** server → client, when a connection opens (and again if callbacks were lost): who you are and how to come back. */
  session: 'session',
  /** client → server, with an ack: invoke an operation. */
  call: 'call',
  /** server → client, with an ack for request-reply callbacks. */
  callback: 'callback',
  /** server → client: a frame that could not be answered through an ack. */
  protocolError: 'protocol_error',
  /** server → client, just before the server closes the connection itself: why. */
  closing: 'closing',
} as const;

/**
 * Why the server is closing a connection. `displaced`: another connection
 * resumed this session (with its latest resume token); this one is over and
 * should not reconnect with it. `draining`: the node is stopping; reconnect
 * (to any other node) with the resume token, as after a lost connection.
 */
export interface ClosingFrame {
  reason: 'displaced' | 'draining';
  message: string;
}

/** Handshake `auth` payload. */
export interface HandshakeAuth {
  /** Credential checked by the server's `authenticate` hook, if it has one. */
  token?: string;
  /** Resume token from an earlier `session` event. */
  session?: string;
  /** Highest callback `seq` received; the server replays newer ones on resume. */
  lastSeq?: number;
}

/** The wire protocol's version, sent in every session frame; docs/protocol.md lists what each changed. */
export const PROTOCOL_VERSION = 3;

export interface SessionFrame {
  /** The server's protocol version (PROTOCOL_VERSION). */
  protocol: number;
  /**
   * Opaque, signed resume token: send it back as `auth.session` to resume.
   * Each session frame of a new connection carries a new one; ack the frame
   * once it is kept, and the ones before it stop working.
   */
  session: string;
  sessionId: string;
  nodeId: string;
  /** True when this connection resumed an existing session. */
  resumed: boolean;
  /**
   * One-way callbacks this session lost (0 when none): the count where it is
   * known, -1 where it is not (the node that held them died or stopped, or
   * its inbox did not outlive a broker outage). Not 0: reload.
   */
  missed: number;
}

export interface CallFrame {
  service: string;
  op: string;
  args: unknown[];
  /**
   * The client's id for this call, unique within its session (1–64
   * characters). A call resent with the same id, after a reconnect to any
   * node, is answered with the first one's outcome instead of running again.
   */
  id?: string;
}

export interface CallbackFrame {
  service: string;
  method: string;
  args: unknown[];
  /**
   * Per-session sequence number of one-way callbacks. A client keeps the
   * highest it has seen, sends it as `auth.lastSeq` when it resumes, and
   * ignores a frame whose seq it has already seen (a replay).
   */
  seq?: number;
}

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type Ack<T = unknown> = { ok: true; result?: T } | { ok: false; error: WireError };
