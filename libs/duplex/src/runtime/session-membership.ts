import { Inject, Injectable } from '@nestjs/common';
import { DuplexError } from '@nest-duplex/protocol';
import type { SessionInfo } from '../contracts/session-info';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { ClusterPresence } from '../presence/cluster-presence';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { checkTopic } from '../presence/user-topic';
import type { TopicMembers } from './callback-hub';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';

/**
 * What a session belongs to (its topics) and says about itself (its
 * attributes), kept in step with the bus's bindings and announced to the
 * cluster; and who belongs to a topic, cluster-wide.
 */
@Injectable()
export class SessionMembership implements TopicMembers {
  constructor(
    private readonly subscriptions: TopicSubscriptions,
    private readonly sessions: SessionRegistry,
    private readonly presence: ClusterPresence,
    @Inject(DUPLEX_OPTIONS) private readonly options: Pick<ResolvedDuplexOptions, 'authorizeSubscription'>,
  ) {}

  /** A session's own subscription, authorized by the app's `authorizeSubscription`; resolves once callbacks reach it. */
  async subscribe(session: Session, topic: string): Promise<void> {
    checkTopic(topic);
    const authorize = this.options.authorizeSubscription;
    if (authorize && !(await authorize(session, topic))) {
      throw new DuplexError('FORBIDDEN', `this session may not subscribe to "${topic}"`);
    }
    if (session.ended) return;
    await this.join(session, topic);
    this.announce(session);
  }

  async unsubscribe(session: Session, topic: string): Promise<void> {
    checkTopic(topic);
    if (!session.topics.delete(topic)) return;
    await this.subscriptions.unsubscribe(topic, session.id);
    this.announce(session);
  }

  /** Subscribes without asking the app (the framework's own topics, or a moved session's), and without announcing. */
  async join(session: Session, topic: string): Promise<void> {
    session.topics.add(topic);
    await this.subscriptions.subscribe(topic, session.id);
  }

  setAttribute(session: Session, key: string, value: unknown): void {
    if (value === undefined) delete session.attributes[key];
    else session.attributes[key] = value;
    this.announce(session);
  }

  /** Subscribers of a topic on every node. */
  members(topic: string): SessionInfo[] {
    const members = new Map<string, SessionInfo>();
    for (const id of this.subscriptions.local(topic)) {
      const session = this.sessions.get(id);
      if (session) members.set(id, session);
    }
    // A session moving between nodes may be in two nodes' announcements for a moment: once is enough.
    for (const remote of this.presence.remoteMembers(topic)) if (!members.has(remote.id)) members.set(remote.id, remote);
    return [...members.values()];
  }

  announce(session: Session): void {
    if (!session.ended) this.presence.announce(session.presence());
  }
}
