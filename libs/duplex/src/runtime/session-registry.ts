import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RecentMap } from '../cluster/recent-map';
import type { HandedWindow, PresenceSession } from '../cluster/bus-message';
import { DUPLEX_OPTIONS } from '../duplex-options';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import type { ClientConnection } from './client-connection';
import type { SessionLookup } from './session-routes';
import { Session } from './session';
import { type SessionEndHandler, SessionEndHooks } from './session-end-hooks';

/** Sessions a node remembers having handed over, so it does not answer for them any more. */
const MOVED_AWAY_MEMORY = 10_000;

export interface SessionLimits {
  sessionGraceMs: number;
  maxPendingCalls: number;
  replayWindow: number;
}

/** What the registry tells whoever listens (presence, for one). */
export interface SessionEvents {
  /**
   * The session no longer lives on this node: it ended, or moved away. Not
   * emitted when it has come back meanwhile, so a late release of an old copy
   * never unlists the new one.
   */
  left: [session: Session];
}

/**
 * The sessions that live on this node, from handshake to end. A session ends
 * exactly once: when its client leaves on purpose, or when it stays
 * disconnected past the grace period. Then the services' end hooks run.
 */
@Injectable()
export class SessionRegistry extends EventEmitter<SessionEvents> implements SessionLookup {
  private readonly logger = new Logger(SessionRegistry.name);
  private readonly sessions = new Map<string, Session>();
  private readonly ending = new Set<Promise<void>>();
  /** Sessions moving here now, by id: settled when the move is done, whatever its outcome. */
  private readonly arriving = new Map<string, Promise<void>>();
  /** Sessions handed over to other nodes lately, and the node each went to. */
  private readonly handedOver = new RecentMap<string, string>(MOVED_AWAY_MEMORY);
  private frozen = false;

  constructor(
    private readonly subscriptions: TopicSubscriptions,
    @Inject(DUPLEX_OPTIONS) private readonly limits: SessionLimits,
    @Inject(SessionEndHooks) private readonly endHooks: Pick<SessionEndHandler, 'ended'>,
  ) {
    super();
  }

  get size(): number {
    return this.sessions.size;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Every local session as presence announces it. */
  presence(): PresenceSession[] {
    return [...this.sessions.values()].map((session) => session.presence());
  }

  async open(identity: unknown): Promise<Session> {
    return this.add(new Session(randomUUID(), identity, this.limits.maxPendingCalls, this.limits.replayWindow));
  }

  /**
   * Takes over a session that lived on another node; the caller restores its
   * subscriptions. Its callbacks are numbered on from `seenSeq`, the last the
   * client says it saw: numbered from 1 again, they would look to the client
   * like replays of what it has, and it would drop them.
   */
  async adopt(info: PresenceSession, seenSeq: number): Promise<Session> {
    const session = new Session(info.id, info.identity, this.limits.maxPendingCalls, this.limits.replayWindow, seenSeq);
    session.attributes = { ...info.attributes };
    session.token = info.token;
    session.moves = (info.moves ?? 0) + 1;
    // Listed before the old node is asked, and holding what arrives until its window is in. No grace
    // period while it moves (asks may take their timeout): the handshake that moves it owns it.
    session.hold();
    return this.add(session, false);
  }

  /** Runs the move of a session here; other handshakes and handover asks for it wait for `arrival`. */
  async moving<T>(sessionId: string, move: Promise<T>): Promise<T> {
    this.arriving.set(sessionId, move.then(() => undefined, () => undefined));
    try {
      return await move;
    } finally {
      this.arriving.delete(sessionId);
    }
  }

  /** Settles once a move of this session here, if one is running, is done. */
  arrival(sessionId: string): Promise<void> {
    return this.arriving.get(sessionId) ?? Promise.resolve();
  }

  /**
   * The session resumes on another node: let it go here, and give what its
   * client has not seen. Null if it does not live here; 'refused' (and it
   * stays) if the token presented there is one it no longer accepts.
   */
  handOver(sessionId: string, lastSeq: number, generation: number, to: string): HandedWindow | 'refused' | null {
    const session = this.sessions.get(sessionId);
    if (!session || session.ended) return null;
    if (!session.acceptsToken(generation)) return 'refused';
    const window = session.handOver(lastSeq);
    this.handedOver.set(sessionId, to);
    this.evict(sessionId);
    return window;
  }

  /** The node a session was handed over to from here, if it was lately. */
  movedTo(sessionId: string): string | undefined {
    return this.handedOver.get(sessionId);
  }

  /** The live session with this id; null if it ended or never lived here. Its grace period runs on until a connection attaches. */
  resume(sessionId: string): Session | null {
    const session = this.sessions.get(sessionId);
    return !session || session.ended ? null : session;
  }

  /**
   * A connection takes the session over, its grace period stopped, and gets
   * what it has not seen after `lastSeq`. False if the session ended in the
   * meantime.
   */
  attach(session: Session, connection: ClientConnection, lastSeq: number): boolean {
    if (session.ended) return false;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    session.attach(connection, lastSeq);
    return true;
  }

  /** The connection is gone: end now if the client left on purpose, else after the grace period. */
  detach(session: Session, connection: ClientConnection, leftOnPurpose: boolean): void {
    if (!session.detach(connection)) return; // a newer connection already took over
    if (leftOnPurpose) {
      void this.end(session);
      return;
    }
    this.startGrace(session);
  }

  /** A connection's handshake holds the session: no grace period runs until that connection attaches or closes. */
  reserve(session: Session): void {
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
  }

  /** The connection that held it closed before attaching: the session waits for its client as after any lost connection. */
  abandon(session: Session): void {
    if (!session.ended && !session.connected) this.startGrace(session);
  }

  /**
   * The node is stopping (or draining, to stop next): its sessions stay as they are, to be resumed
   * elsewhere or ended there, not here. A session whose connection is lost from now on waits too: its
   * grace period starts on the other nodes once this one has left.
   */
  freeze(): void {
    this.frozen = true;
    for (const session of this.sessions.values()) {
      if (session.graceTimer) clearTimeout(session.graceTimer);
      session.graceTimer = null;
    }
  }

  private startGrace(session: Session): void {
    if (this.frozen) return;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = setTimeout(() => void this.end(session), this.limits.sessionGraceMs);
    session.graceTimer.unref();
  }

  end(session: Session): Promise<void> {
    if (session.ended) return Promise.resolve();
    session.ended = true;
    this.sessions.delete(session.id);
    if (session.graceTimer) clearTimeout(session.graceTimer);
    const ending = this.finish(session);
    this.ending.add(ending);
    void ending.finally(() => this.ending.delete(ending));
    return ending;
  }

  /** Resolves once every session that has begun to end has finished ending (hooks run, bindings released). */
  async settled(): Promise<void> {
    while (this.ending.size > 0) await Promise.allSettled([...this.ending]);
  }

  private async finish(session: Session): Promise<void> {
    try {
      await this.endHooks.ended(session);
    } catch (error) {
      this.logger.error(`session ${session.id} end hook failed: ${(error as Error).stack}`);
    }
    await this.release(session);
  }

  /** Another node announces this session: if its copy moved more often than ours, it resumed there, and ours goes without ending. */
  superseded(info: PresenceSession): void {
    const local = this.sessions.get(info.id);
    if (local && (info.moves ?? 0) > local.moves) this.evict(info.id);
  }

  /** The session resumed on another node: let it go here without ending it. */
  evict(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.ended = true;
    this.sessions.delete(sessionId);
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.disconnect();
    void this.release(session);
  }

  private async add(session: Session, detached = true): Promise<Session> {
    this.sessions.set(session.id, session);
    this.handedOver.delete(session.id); // it is back: this node answers for it again
    // Detached until a connection attaches: a client gone before its handshake ends does not leave it behind.
    if (detached) this.startGrace(session);
    return session;
  }

  private async release(session: Session): Promise<void> {
    await Promise.allSettled([...session.topics].map((topic) => this.subscriptions.unsubscribe(topic, session.id)));
    session.topics.clear();
    if (!this.sessions.has(session.id)) this.emit('left', session);
  }
}
