import type { PresenceSession } from '../cluster/bus-message';
import type { SessionInfo } from '../contracts/session-info';
import type { Ack, CallbackFrame } from '../protocol';
import type { ClientConnection } from './client-connection';
import { ReplayWindow } from './replay-window';
import { SerialQueue } from './serial-queue';

interface WaitingRequest {
  frame: CallbackFrame;
  timeoutMs: number;
  answer: (ack: Promise<Ack>) => void;
}

/**
 * One client's session on this node. It outlives its connection for a grace
 * period. One-way callbacks are numbered and the last `replayWindow` are kept,
 * so a client that resumes gets what it missed, including frames written to a
 * socket that was already dying. Request-reply callbacks raised while it is
 * away wait for it (their origin still times them out).
 */
export class Session implements SessionInfo {
  readonly topics = new Set<string>();
  attributes: Record<string, unknown> = {};
  readonly queue: SerialQueue;
  private connection: ClientConnection | null = null;
  private readonly history: ReplayWindow<CallbackFrame>;
  private readonly waiting: WaitingRequest[] = [];
  graceTimer: NodeJS.Timeout | null = null;
  ended = false;

  constructor(
    readonly id: string,
    readonly identity: unknown,
    maxPendingCalls: number,
    replayWindow: number,
    /** Seq of the last callback the client has seen, for a session that moved here from another node. */
    seenSeq = 0,
  ) {
    this.queue = new SerialQueue(maxPendingCalls);
    this.history = new ReplayWindow(replayWindow, seenSeq);
  }

  get connected(): boolean {
    return this.connection !== null;
  }

  /** What the rest of the cluster learns about this session. */
  presence(): PresenceSession {
    return { id: this.id, identity: this.identity, topics: [...this.topics], attributes: this.attributes };
  }

  /** Drops the connection without ending the session (it moved to another node). */
  disconnect(): void {
    this.connection?.close();
    this.connection = null;
  }

  /** How many one-way callbacks after `lastSeq` fell out of the replay window. */
  missedSince(lastSeq: number): number {
    return Math.max(0, this.history.oldestSeq - 1 - lastSeq);
  }

  /** Attaches a connection and replays the one-way callbacks after `lastSeq`. */
  attach(connection: ClientConnection, lastSeq = 0): void {
    this.connection = connection;
    for (const [frame, seq] of this.history.after(lastSeq)) connection.send(frame, seq);
    for (const request of this.waiting.splice(0)) request.answer(connection.request(request.frame, request.timeoutMs));
  }

  detach(connection: ClientConnection): boolean {
    if (this.connection !== connection) return false;
    this.connection = null;
    return true;
  }

  /** `frame` may be shared with other sessions: it is kept and sent as is, numbered beside it. */
  send(frame: CallbackFrame): void {
    const seq = this.history.push(frame);
    this.connection?.send(frame, seq);
  }

  request(frame: CallbackFrame, timeoutMs: number): Promise<Ack> {
    if (this.connection) return this.connection.request(frame, timeoutMs);
    return new Promise((resolve) => {
      this.waiting.push({ frame, timeoutMs, answer: resolve });
      // Past the origin's timeout nobody waits for the answer any more.
      setTimeout(() => {
        const index = this.waiting.findIndex((w) => w.answer === resolve);
        if (index >= 0) this.waiting.splice(index, 1);
      }, timeoutMs).unref();
    });
  }
}
