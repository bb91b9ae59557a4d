import { Inject, Injectable, Logger } from '@nestjs/common';
import { BUS, type Bus } from '../cluster/bus';
import type { TokenState } from '../cluster/bus-message';
import { sameIdentity, userIdOf } from '../contracts/session-info';
import type { TokenClaim } from '../gateway/session-token';
import { ClusterPresence, type FoundSession } from '../presence/cluster-presence';
import { userTopic } from '../presence/user-topic';
import { CallbackRouter } from './callback-router';
import { acceptsToken, type Session } from './session';
import { type HandoverOutcome, SessionHandover } from './session-handover';
import { SessionLocator } from './session-locator';
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
    private readonly locator: SessionLocator,
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
   * The session a resume token names, here or (taken over) from another
   * node; null if it is gone, belongs to another identity, or the token is
   * one it no longer accepts. `seenSeq` is the last callback seq its client
   * has seen.
   */
  async resume(claim: TokenClaim, seenSeq: number, identity: unknown): Promise<Session | null> {
    const { sessionId, generation } = claim;
    // A second handshake for a session that is moving here waits for the move, then resumes it as a local one.
    await this.sessions.arrival(sessionId);
    const local = this.sessions.resume(sessionId);
    if (local) {
      if (!sameIdentity(local.identity, identity)) return this.refuse(sessionId, 'a handshake of another identity');
      if (!local.acceptsToken(generation)) return this.refuse(sessionId, 'a used resume token');
      return local;
    }
    // Presence first; if it has not heard (a fast mover, a burst of changes), every node is asked.
    const found = this.presence.find(sessionId) ?? (await this.locator.locate(sessionId));
    if (!found) {
      this.logger.log(`session ${sessionId} is not known here or elsewhere (it ended): its client gets a new session`);
      return null;
    }
    // Checked before the move, so another identity's attempt never disturbs the session where it is.
    if (!sameIdentity(found.session.identity, identity)) return this.refuse(sessionId, 'a handshake of another identity');
    // As far as presence knows; the old node, if alive, has the last word when asked.
    if (!mayHold(found.session.token, generation)) return this.refuse(sessionId, 'a used resume token');
    return this.sessions.moving(sessionId, this.moveHere(found, claim, seenSeq));
  }

  /** The client acked the session frame carrying this token: the ones before stop working, cluster-wide. */
  confirmToken(session: Session, generation: number): void {
    if (session.confirmToken(generation)) this.membership.announce(session);
  }

  private refuse(sessionId: string, who: string): null {
    this.logger.warn(`${who} presented session ${sessionId}'s resume token: it gets a new session, and the session stays as it is`);
    return null;
  }

  private async moveHere(found: FoundSession, { sessionId, generation }: TokenClaim, seenSeq: number): Promise<Session | null> {
    const here = this.bus.nodeId;
    // Whatever the outcome, the dead node's copy is not ours to reap any more.
    this.presence.claim(sessionId);
    // Bound and subscribed first, holding what arrives: from here on nothing for it can miss this node.
    const session = await this.sessions.adopt(found.session, seenSeq);
    for (const topic of found.session.topics) await this.membership.join(session, topic);
    let outcome: HandoverOutcome = found.live ? await this.handover.ask(found.nodeId, sessionId, seenSeq, generation) : { kind: 'silent' };
    // It moved on from there before presence told us: follow it, a few hops at most.
    for (let hops = 0; outcome.kind === 'moved' && hops < MAX_HANDOVER_HOPS; hops++) {
      // Pointed back here: it went on from here since, and this node knows where.
      const next = outcome.nodeId === here ? this.sessions.movedTo(sessionId) : outcome.nodeId;
      outcome = next === undefined || next === here ? { kind: 'gone' } : await this.handover.ask(next, sessionId, seenSeq, generation);
    }
    if (outcome.kind === 'moved' || outcome.kind === 'gone' || outcome.kind === 'refused') {
      // It ended there (or moved on) after presence last heard: a stale copy, not a session to continue.
      // Or the token was a used one: the session stays where it is.
      this.sessions.evict(sessionId);
      if (outcome.kind === 'refused') return this.refuse(sessionId, 'a used resume token');
      this.logger.log(`session ${sessionId} was not on ${found.nodeId} any more (${outcome.kind}): its client gets a new session`);
      return null;
    }
    const window = outcome.kind === 'handed' ? outcome.window : null;
    session.takeOver(window, seenSeq);
    session.presented(generation);
    this.router.remember(window?.frames.map((f) => f.id) ?? []);
    this.membership.announce(session);
    const how = outcome.kind === 'handed' ? `with ${outcome.window.frames.length} callbacks` : 'from a node that is gone';
    this.logger.log(`session ${sessionId} moved to this node from ${found.nodeId}, ${how}`);
    return session;
  }
}

/**
 * Whether a client may hold a token of this generation, as presence knows the
 * session: one it accepts, or a newer one (its node issued it after its last
 * announcement, and only a node can sign one).
 */
function mayHold(token: TokenState, generation: number): boolean {
  return generation > token.generation || acceptsToken(token, generation);
}
