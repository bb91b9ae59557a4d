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

/** What the cluster knows of a session, enough to end it on another node. */
export interface PresenceSession {
  id: string;
  identity: unknown;
  topics: string[];
  attributes: Record<string, unknown>;
}

/** Every node, every heartbeat interval: I am alive, and these are my sessions. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  nodeId: string;
  /** Random per process: a node restarted under the same id is a new incarnation, and the old one's sessions are gone. */
  incarnation: string;
  sessions: PresenceSession[];
  /** The node is shutting down: start its sessions' grace period now. */
  leaving?: boolean;
}

/** A session's topics or attributes changed, or it moved to this node. */
export interface SessionUpdateMessage {
  type: 'session-update';
  nodeId: string;
  session: PresenceSession;
}

export interface SessionGoneMessage {
  type: 'session-gone';
  nodeId: string;
  sessionId: string;
}

/** A job: end these sessions of a dead node (run their services' end hooks) once. */
export interface ReapMessage {
  type: 'reap';
  nodeId: string;
  sessions: PresenceSession[];
}

export type PresenceMessage = HeartbeatMessage | SessionUpdateMessage | SessionGoneMessage;

/** The whole cluster protocol: a closed set of typed messages. */
export type BusMessage = CallbackMessage | ReplyMessage | PresenceMessage | ReapMessage;
