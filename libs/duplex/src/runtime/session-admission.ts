import { Inject, Injectable, Logger } from '@nestjs/common';
import { BUS, type Bus } from '../cluster/bus';
import { sameIdentity, userIdOf } from '../contracts/session-info';
import { ClusterPresence, type FoundSession } from '../presence/cluster-presence';
import { userTopic } from '../presence/user-topic';
import { CallbackRouter } from './callback-router';
import type { Session } from './session';
import { type HandoverOutcome, SessionHandover } from './session-handover';
import { SessionMembership } from './session-membership';
import { SessionRegistry } from './session-registry';

/** How far a resume follows a session that keeps moving on before presence catches up. */
const MAX_HANDOVER_HOPS = 3;

/**
 * The session a handshake gets: a new one, or the one its resume token names,
 * living here or taken over from another node (docs/protocol.md, Resuming).
 * Only the identity that opened a session continues it.
 */
@Injectable()
export class SessionAdmission {
  private readonly logger = new Logger(SessionAdmission.name);

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly presence: ClusterPresence,
    private readonly handover: SessionHandover,
    private readonly membership: SessionMembership,
    private readonly router: CallbackRouter,
  ) {}

  async open(identity: unknown): Promise<Session> {
    const session = await this.sessions.open(identity);
    // A user's sessions share a topic of the framework's own, so a user is reached like a topic, on every node.
    const userId = userIdOf(identity);
    if (userId !== undefined) await this.membership.join(session, userTopic(userId));
    this.membership.announce(session);
    return session;
  }

  /**
   * The session with this id, here or (taken over) from another node; null if
   * it is gone or belongs to another identity. `seenSeq` is the last callback
   * seq its client has seen.
   */
  async resume(sessionId: string, seenSeq: number, identity: unknown): Promise<Session | null> {
    // A second handshake for a session that is moving here waits for the move, then resumes it as a local one.
    await this.sessions.arrival(sessionId);
    const local = this.sessions.resume(sessionId);
    if (local) return sameIdentity(local.identity, identity) ? local : this.refuse(sessionId);
    // Presence first; if it has not heard (a fast mover, a burst of changes), the session's own address.
    const found = this.presence.find(sessionId) ?? (await this.handover.locate(sessionId));
    if (!found) {
      this.logger.debug(`session ${sessionId} is not known here or elsewhere (it ended): its client gets a new session`);
      return null;
    }
    // Checked before the move, so another identity's attempt never disturbs the session where it is.
    if (!sameIdentity(found.session.identity, identity)) return this.refuse(sessionId);
    return this.sessions.moving(sessionId, this.moveHere(found, seenSeq));
  }

  private refuse(sessionId: string): null {
    this.logger.warn(`a handshake of another identity presented session ${sessionId}'s resume token: it gets a new session`);
    return null;
  }

  private async moveHere(found: FoundSession, seenSeq: number): Promise<Session | null> {
    const sessionId = found.session.id;
    const here = this.bus.nodeId;
    // Whatever the outcome, the dead node's copy is not ours to reap any more.
    this.presence.claim(sessionId);
    // Bound and subscribed first, holding what arrives: from here on nothing for it can miss this node.
    const session = await this.sessions.adopt(found.session, seenSeq);
    for (const topic of found.session.topics) await this.membership.join(session, topic);
    let outcome: HandoverOutcome = found.live ? await this.handover.ask(found.nodeId, sessionId, seenSeq) : { kind: 'silent' };
    // It moved on from there before presence told us: follow it, a few hops at most.
    for (let hops = 0; outcome.kind === 'moved' && hops < MAX_HANDOVER_HOPS; hops++) {
      // Pointed back here: it went on from here since, and this node knows where.
      const next = outcome.nodeId === here ? this.sessions.movedTo(sessionId) : outcome.nodeId;
      outcome = next === undefined || next === here ? { kind: 'gone' } : await this.handover.ask(next, sessionId, seenSeq);
    }
    if (outcome.kind === 'moved' || outcome.kind === 'gone') {
      // It ended there (or moved on) after presence last heard: a stale copy, not a session to continue.
      this.sessions.evict(sessionId);
      return null;
    }
    const window = outcome.kind === 'handed' ? outcome.window : null;
    session.takeOver(window, seenSeq);
    this.router.remember(window?.frames.map((f) => f.id) ?? []);
    this.membership.announce(session);
    const how = outcome.kind === 'handed' ? `with ${outcome.window.frames.length} callbacks` : 'from a node that is gone';
    this.logger.log(`session ${sessionId} moved to this node from ${found.nodeId}, ${how}`);
    return session;
  }
}
