import { Inject, Injectable } from '@nestjs/common';
import { BUS, type Bus } from '../cluster/bus';
import { topicAddress } from '../cluster/bus-address';

/**
 * Which local sessions subscribe to which topics. The node binds a topic on
 * the bus while it has at least one local subscriber, so it only receives
 * topic traffic it will deliver. Bind and unbind of one topic are serialised,
 * so a subscribe racing the last unsubscribe always ends bound.
 */
@Injectable()
export class TopicSubscriptions {
  private readonly members = new Map<string, Set<string>>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(@Inject(BUS) private readonly bus: Bus) {}

  /** Resolves once the node receives the topic's messages. */
  async subscribe(topic: string, sessionId: string): Promise<void> {
    let sessions = this.members.get(topic);
    if (!sessions) this.members.set(topic, (sessions = new Set()));
    sessions.add(sessionId);
    await this.sync(topic);
  }

  async unsubscribe(topic: string, sessionId: string): Promise<void> {
    const sessions = this.members.get(topic);
    if (!sessions?.delete(sessionId)) return;
    if (sessions.size === 0) this.members.delete(topic);
    await this.sync(topic);
  }

  /** Local subscribers of a topic. */
  local(topic: string): ReadonlySet<string> {
    return this.members.get(topic) ?? new Set();
  }

  /** Every topic with a local subscriber: what to re-bind after a reconnect. */
  topics(): string[] {
    return [...this.members.keys()];
  }

  private sync(topic: string): Promise<void> {
    const previous = this.chains.get(topic) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        // Decide at run time, not at call time: only the latest state matters.
        if (this.members.has(topic)) await this.bus.bind(topicAddress(topic));
        else await this.bus.unbind(topicAddress(topic));
      });
    this.chains.set(topic, next);
    void next.finally(() => {
      if (this.chains.get(topic) === next) this.chains.delete(topic);
    }).catch(() => undefined);
    return next;
  }
}
