import type { HandedFrame, HandedWindow, PresenceSession, TokenState } from '../cluster/bus-message';
import type { SessionInfo } from '../contracts/session-info';
import type { Ack, CallbackFrame } from '@nest-duplex/protocol';
import type { ClientConnection } from './client-connection';
import { CallOutcomes } from './call-outcomes';
import { ReplayWindow } from './replay-window';
import { SerialQueue } from './serial-queue';

/** A one-way callback as a session holds it: the frame, shared with the other sessions it went to, and its bus message's id. */
export type HeldFrame = CallbackFrame & { id?: string };

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
  /** Recent calls' acks by call id, so a resent call is answered, not run again. */
  readonly outcomes: CallOutcomes;
  private connection: ClientConnection | null = null;
  private history: ReplayWindow<HeldFrame>;
  private readonly waiting: WaitingRequest[] = [];
  /** While a session moves here: callbacks that arrived before the old node's window did, in arrival order. */
  private held: HeldFrame[] | null = null;
  /** Set when the session moved here from a node that could not hand its window over: the next attach reports an unknown gap. */
  private gapUnknown = false;
  graceTimer: NodeJS.Timeout | null = null;
  ended = false;
  /** How many times it moved between nodes before it came to this one (PresenceSession.moves). */
  moves = 0;
  /** Its resume tokens: none issued until its first connection. */
  token: TokenState = { generation: 0, confirmed: true };

  constructor(
    readonly id: string,
    readonly identity: unknown,
    maxPendingCalls: number,
    private readonly replayWindow: number,
    /** Seq of the last callback the client has seen, for a session that moved here from another node. */
    seenSeq = 0,
  ) {
    this.queue = new SerialQueue(maxPendingCalls);
    this.outcomes = new CallOutcomes(maxPendingCalls);
    this.history = new ReplayWindow(replayWindow, seenSeq);
  }

  get connected(): boolean {
    return this.connection !== null;
  }

  /** What the rest of the cluster learns about this session. */
  presence(): PresenceSession {
    return { id: this.id, identity: this.identity, topics: [...this.topics], attributes: this.attributes, token: this.token, moves: this.moves };
  }

  /** Drops the connection without ending the session (it moved to another node): its client is told it was displaced. */
  disconnect(): void {
    this.connection?.close('displaced');
    this.connection = null;
  }

  /** Whether a resume token of this generation continues the session: the latest, or the one before while the latest is unconfirmed. */
  acceptsToken(generation: number): boolean {
    return acceptsToken(this.token, generation);
  }

  /** The generation of a new resume token, for the session frame of a new connection. */
  issueToken(): number {
    this.token = { generation: this.token.generation + 1, confirmed: false };
    return this.token.generation;
  }

  /** The client showed it holds this generation (it resumed with it): the ones before it are used, whatever presence said. */
  presented(generation: number): void {
    if (generation > this.token.generation || (generation === this.token.generation && !this.token.confirmed)) {
      this.token = { generation, confirmed: true };
    }
  }

  /** The client acked the session frame carrying this generation: the ones before it stop working. False if it was not the latest. */
  confirmToken(generation: number): boolean {
    if (generation !== this.token.generation || this.token.confirmed) return false;
    this.token = { generation, confirmed: true };
    return true;
  }

  /**
   * How many one-way callbacks after `lastSeq` fell out of the replay
   * window; -1, once, after a move from a node that could not say (it died).
   */
  missedSince(lastSeq: number): number {
    if (this.gapUnknown) {
      this.gapUnknown = false;
      return -1;
    }
    return Math.max(0, this.history.oldestSeq - 1 - lastSeq);
  }

  /** Callbacks for it may have been lost here (a broker outage outlived the inbox): the client is told now, or when it is back. */
  lostCallbacks(): void {
    if (this.connection) this.connection.gap();
    else this.gapUnknown = true;
  }

  /** Moving here: keep what arrives, unnumbered, until the old node's window is in (`takeOver`). */
  hold(): void {
    this.held = [];
  }

  /**
   * What the old node gives up when the session moves on: the callbacks its
   * window keeps after the client's `lastSeq`, the last seq it numbered, its
   * call outcomes, a gap it has not told the client of yet, and its tokens.
   */
  handOver(lastSeq: number): HandedWindow {
    const frames: HandedFrame[] = [];
    for (const [frame, seq] of this.history.after(lastSeq)) {
      frames.push({ seq, id: frame.id, service: frame.service, method: frame.method, args: frame.args });
    }
    const window: HandedWindow = {
      frames,
      lastSeq: Math.max(lastSeq, this.history.lastSeq),
      outcomes: this.outcomes.settled(),
      token: this.token,
      moves: this.moves,
    };
    return this.gapUnknown ? { ...window, gapUnknown: true } : window;
  }

  /**
   * Seeds the window with what the old node handed over (null: it could not,
   * so how much was lost is unknown), then numbers on with the callbacks
   * that arrived here meanwhile, leaving out those the old node had too.
   */
  takeOver(handed: HandedWindow | null, clientLastSeq: number): void {
    const frames = handed?.frames ?? [];
    // Seqs of a handover are consecutive; the first one held there sets where this window starts.
    const startAfter = frames.length > 0 ? frames[0].seq - 1 : (handed?.lastSeq ?? clientLastSeq);
    this.history = new ReplayWindow(this.replayWindow, startAfter);
    const seen = new Set<string>();
    for (const { seq: _seq, ...frame } of frames) {
      this.history.push(frame);
      if (frame.id !== undefined) seen.add(frame.id);
    }
    // A gap the old node could not tell, or one found here while moving (a broker outage), stays to be told.
    this.gapUnknown ||= handed === null || handed.gapUnknown === true;
    if (handed) this.outcomes.seed(handed.outcomes);
    // The old node's word on its tokens is the latest: presence may not have heard of the last it issued.
    if (handed && handed.token.generation >= this.token.generation) this.token = handed.token;
    // Likewise its count of moves: one more than the old node's copy had.
    if (handed?.moves !== undefined) this.moves = Math.max(this.moves, handed.moves + 1);
    const held = this.held ?? [];
    this.held = null;
    for (const frame of held) if (frame.id === undefined || !seen.has(frame.id)) this.send(frame);
  }

  /** Attaches a connection and replays the one-way callbacks after `lastSeq`. A connection it had is told it was displaced. */
  attach(connection: ClientConnection, lastSeq = 0): void {
    if (this.connection && this.connection !== connection) this.connection.close('displaced');
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
  send(frame: HeldFrame): void {
    if (this.held) {
      this.held.push(frame);
      return;
    }
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

/** The token rule, for a session here and for one known from presence or a handover. */
export function acceptsToken(token: TokenState, generation: number): boolean {
  return generation === token.generation || (generation === token.generation - 1 && !token.confirmed);
}
