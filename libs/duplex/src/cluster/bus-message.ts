import type { Ack, WireError } from '@nest-duplex/protocol';

/** A callback to deliver to the sessions behind an address. */
export interface CallbackMessage {
  type: 'callback';
  /** Unique per published message, so a session that moves can tell a callback both nodes received from two. */
  id?: string;
  service: string;
  method: string;
  args: unknown[];
  /** Topic fan-out skips this session (the caller, for "notify the others"). */
  exceptSessionId?: string;
  /** A topic callback's publishing node, which delivered it to its own subscribers first: its copy from the broker is dropped. */
  origin?: string;
  /** Present on request-reply callbacks: where and how to answer. */
  reply?: { nodeId: string; correlationId: string; timeoutMs: number };
  /** Present on a callback for one session, sent to the node that holds it. */
  to?: SessionRoute;
}

/** A callback's way to one session: which, who sent it, and how many nodes passed it on. */
export interface SessionRoute {
  sessionId: string;
  /** The sending node (or emitter), told where the session went if the callback is passed on. */
  from: string;
  hops: number;
}

/**
 * To a callback's sender, from the node it reached: the session had moved to
 * `nodeId`, and callback `id` was passed on there. The sender sends there
 * from then on, if `id` was the last it sent (so nothing it sent later can
 * overtake what is still being passed on). `nodeId` null: the session is on
 * no node this one knows of (it ended), and the callback was dropped; the
 * sender looks for the session afresh next time, so its next callback to it
 * is UNAVAILABLE.
 */
export interface SessionMovedMessage {
  type: 'session-moved';
  sessionId: string;
  /** The node the callback reached, which passed it on. */
  from: string;
  nodeId: string | null;
  id: string;
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
  /** Which resume tokens it accepts (Session.acceptsToken). */
  token: TokenState;
  /**
   * How many times it has moved between nodes. Of two nodes' copies, the one
   * that moved more is the newer: an announcement the old node sent before a
   * move reached the new one never makes the new one let the session go.
   */
  moves?: number;
}

/**
 * A session's resume tokens: the generation of the latest one issued, and
 * whether its client confirmed having it (acked the session frame). Until
 * then the one before it still works, so a connection lost before its
 * session frame arrived does not lose the session.
 */
export interface TokenState {
  generation: number;
  confirmed: boolean;
}

/**
 * What every presence message of a node says about its sessions: which
 * process sent it and how many changes that process had announced. A receiver
 * applies changes in order; one that finds itself behind (a lost message, a
 * reconnect, a node it has not met) asks that node for a snapshot.
 */
export interface PresenceVersion {
  nodeId: string;
  /** Random per process: a node restarted under the same id is a new incarnation, and the old one's sessions are gone. */
  incarnation: string;
  /** Changes this incarnation has announced so far; a snapshot is as of this many. */
  version: number;
}

/**
 * Every node, every heartbeat interval: I am alive, at this version. It does
 * not list the sessions, so its cost does not grow with them.
 */
export interface HeartbeatMessage extends PresenceVersion {
  type: 'heartbeat';
}

/**
 * The changes of a node's sessions in one turn of its event loop, as one
 * version: sessions that opened, moved to it or changed (topics, attributes,
 * token), and sessions that left it.
 */
export interface PresenceChangesMessage extends PresenceVersion {
  type: 'presence-changes';
  updated: PresenceSession[];
  gone: string[];
}

/** All of a node's sessions: the answer to a sync request, or, broadcast, its last word when it shuts down. */
export interface PresenceSnapshotMessage extends PresenceVersion {
  type: 'presence-snapshot';
  sessions: PresenceSession[];
  /** The node is shutting down: start its sessions' grace period now. */
  leaving?: boolean;
}

/** Sent to one node's address: send me your snapshot. `nodeId` is the asker. */
export interface PresenceSyncMessage {
  type: 'presence-sync';
  nodeId: string;
}

/** A job: end these sessions of a dead node (run their services' end hooks) once. */
export interface ReapMessage {
  type: 'reap';
  nodeId: string;
  sessions: PresenceSession[];
}

/** One one-way callback of a session's replay window, as its seq numbered it. */
export interface HandedFrame {
  seq: number;
  id?: string;
  service: string;
  method: string;
  args: unknown[];
}

/** To the node a session lives on: the session resumes on the asker; hand over what its client has not seen. */
export interface HandoverRequestMessage {
  type: 'handover-request';
  /** The asker, where the answer goes. */
  nodeId: string;
  correlationId: string;
  sessionId: string;
  /** The last seq the client says it has seen. */
  lastSeq: number;
  /** The generation of the resume token the client presented: the old node refuses the move if it is a used one. */
  generation: number;
}

/**
 * The answer: the session no longer lives on the old node. `frames` are the
 * callbacks its window kept after the client's lastSeq, oldest first; `lastSeq` is the
 * last seq the old node numbered. Absent `frames`: the old node had no such
 * session (it ended, or moved on).
 */
export interface HandoverMessage extends Partial<HandedWindow> {
  type: 'handover';
  correlationId: string;
  /** The session was no longer there: it had been handed over to this node (presence had not caught up). */
  movedTo?: string;
  /** The session is there, but the token presented is a used one: it stays where it is. */
  refused?: boolean;
}

/** What a session's old node gives up: its held callbacks after the client's lastSeq, and the last seq it numbered. */
export interface HandedWindow {
  frames: HandedFrame[];
  lastSeq: number;
  /** Acks of its recent calls by call id (those still running are not in it). */
  outcomes: Array<[string, Ack]>;
  /** The old node knew callbacks may have been lost (a broker outage) and had not told the client yet. */
  gapUnknown?: boolean;
  /** Its resume tokens as the old node knew them (it may have issued some presence has not heard of). */
  token: TokenState;
  /** Its moves before the old node (PresenceSession.moves), which presence may not have heard yet. */
  moves?: number;
}

/**
 * To every node (broadcast): who holds this session? Presence is a cache
 * that can lag behind fast moves; every node answers, the one that holds the
 * session with it, the others with null.
 */
export interface SessionLocateMessage {
  type: 'session-locate';
  /** The asker, where the answer goes. */
  nodeId: string;
  correlationId: string;
  sessionId: string;
}

/** A node's answer: the session if it holds it, else null; and how many live nodes it knows, so the asker knows when all have said no. */
export interface SessionLocatedMessage {
  type: 'session-located';
  correlationId: string;
  nodeId: string;
  session: PresenceSession | null;
  nodes: number;
}

export type PresenceMessage =
  | HeartbeatMessage
  | PresenceChangesMessage
  | PresenceSnapshotMessage
  | PresenceSyncMessage;

const PRESENCE_TYPES: ReadonlySet<BusMessage['type']> = new Set([
  'heartbeat',
  'presence-changes',
  'presence-snapshot',
  'presence-sync',
]);

export const isPresenceMessage = (message: BusMessage): message is PresenceMessage => PRESENCE_TYPES.has(message.type);

/** The whole cluster protocol: a closed set of typed messages. */
export type BusMessage =
  | CallbackMessage
  | ReplyMessage
  | PresenceMessage
  | ReapMessage
  | HandoverRequestMessage
  | HandoverMessage
  | SessionLocateMessage
  | SessionLocatedMessage
  | SessionMovedMessage;
