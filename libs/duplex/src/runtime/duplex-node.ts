import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator } from '@nestjs/core';
import { BUS, type Bus } from '../cluster/bus';
import type { BusAddress } from '../cluster/bus-address';
import { type BusMessage, isPresenceMessage, type PresenceSession } from '../cluster/bus-message';
import { type ContractDefinition, DuplexError } from '@nest-duplex/protocol';
import { DUPLEX_SERVICE } from '../contracts/duplex-service.decorator';
import { hasSessionEndHook, sameIdentity, SessionInfo, userIdOf } from '../contracts/session-info';
import { checkTopic, userTopic } from '../presence/user-topic';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { ClusterPresence, type FoundSession } from '../presence/cluster-presence';
import { ReplicatedStore } from '../state/replicated-store';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { callContext } from './call-context';
import { CallbackRouter } from './callback-router';
import { NodeEvents } from './node-events';
import { OperationDispatcher } from './operation-dispatcher';
import { OperationPipeline } from './operation-pipeline';
import { ServiceRegistry } from './service-registry';
import { Session } from './session';
import { type HandoverOutcome, SessionHandover } from './session-handover';
import { SessionRegistry } from './session-registry';

/** How far a resume follows a session that keeps moving on before presence catches up. */
const MAX_HANDOVER_HOPS = 3;

/**
 * One node: the composition root of the runtime. The gateway feeds it frames
 * and connections; the bus feeds it messages from other nodes.
 */
@Injectable()
export class DuplexNode implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DuplexNode.name);
  readonly services: ServiceRegistry;
  readonly subscriptions: TopicSubscriptions;
  readonly sessions: SessionRegistry;
  readonly router: CallbackRouter;
  readonly dispatcher: OperationDispatcher;
  readonly presence: ClusterPresence;
  private readonly handover: SessionHandover;
  /** Calls and callbacks as they are answered: observe them with `events.add`. */
  readonly events = new NodeEvents();

  constructor(
    @Inject(BUS) readonly bus: Bus,
    @Inject(DUPLEX_OPTIONS) readonly options: ResolvedDuplexOptions,
    private readonly discovery: DiscoveryService,
    readonly store: ReplicatedStore,
    contexts: ExternalContextCreator,
  ) {
    const pipeline = new OperationPipeline(contexts);
    this.services = new ServiceRegistry((instance, op, count) => pipeline.wrap(instance, op, count));
    this.subscriptions = new TopicSubscriptions(bus);
    this.sessions = new SessionRegistry(bus, this.subscriptions, options, {
      ended: (session) => this.runEndHooks(session),
      // Not when the session has come back meanwhile: a late release of its old copy must not unlist the new one.
      removed: (session) => {
        if (!this.sessions.get(session.id)) this.presence.gone(session.id);
      },
    });
    this.handover = new SessionHandover(bus, this.sessions, options.heartbeatTimeoutMs);
    this.router = new CallbackRouter(bus, this.subscriptions, this.sessions, this.events);
    this.dispatcher = new OperationDispatcher(this.services, options.maxCallBytes, () => this.ready, this.events);
    this.presence = new ClusterPresence(
      bus,
      options,
      () => [...this.sessions.all()].map((s) => s.presence()),
      (session) => this.endRemote(session),
      (sessionId) => this.sessions.evict(sessionId),
    );
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  /** Serving: the bus is up and the shared state has caught up. */
  get ready(): boolean {
    return this.bus.connected && this.store.ready;
  }

  async onModuleInit(): Promise<void> {
    for (const wrapper of this.discovery.getProviders()) {
      const contract: ContractDefinition | undefined =
        wrapper.metatype && wrapper.instance ? Reflect.getMetadata(DUPLEX_SERVICE, wrapper.metatype) : undefined;
      if (contract) this.services.register(contract, wrapper.instance as object);
    }
    this.presence.start();
    await this.bus.start(
      (message, address) => this.receive(message, address),
      ({ lost }) => {
        this.presence.busUp();
        if (!lost) return;
        for (const session of this.sessions.all()) session.lostCallbacks();
      },
    );
    // Serve only once the replica has caught up with the cluster's state.
    await this.store.start();
    const names = this.services.all().map((s) => s.contract.name);
    this.logger.log(`node ${this.nodeId} hosts ${names.join(', ') || 'no services'}`);
  }

  async onApplicationShutdown(): Promise<void> {
    // Sessions ending now finish first, end hooks and announcements included, so the
    // leaving snapshot is the last word: every session is either ended here or in it.
    await this.sessions.settled();
    this.sessions.freeze();
    await this.presence.stop();
    this.router.close();
    await this.store.close();
    await this.bus.close();
  }

  async openSession(identity: unknown): Promise<Session> {
    const session = await this.sessions.open(identity);
    // A user's sessions share a topic of the framework's own, so a user is reached like a topic, on every node.
    const userId = userIdOf(identity);
    if (userId !== undefined) {
      session.topics.add(userTopic(userId));
      await this.subscriptions.subscribe(userTopic(userId), session.id);
    }
    this.announce(session);
    return session;
  }

  /**
   * The session with this id, here or (taken over) from another node; null if
   * it is gone. `seenSeq` is the last callback seq its client has seen.
   */
  async resumeSession(sessionId: string, seenSeq: number, identity: unknown): Promise<Session | null> {
    // A second handshake for a session that is moving here waits for the move, then resumes it as a local one.
    await this.sessions.arrival(sessionId);
    const local = this.sessions.resume(sessionId);
    if (local) return sameIdentity(local.identity, identity) ? local : this.refuseResume(sessionId);
    // Presence first; if it has not heard (a fast mover, a burst of changes), the session's own address.
    const found = this.presence.find(sessionId) ?? (await this.handover.locate(sessionId));
    if (!found) {
      this.logger.debug(`session ${sessionId} is not known here or elsewhere (it ended): its client gets a new session`);
      return null;
    }
    // Checked before the move, so another identity's attempt never disturbs the session where it is.
    if (!sameIdentity(found.session.identity, identity)) return this.refuseResume(sessionId);
    return this.sessions.moving(sessionId, this.moveHere(found, seenSeq));
  }

  private refuseResume(sessionId: string): null {
    this.logger.warn(`a handshake of another identity presented session ${sessionId}'s resume token: it gets a new session`);
    return null;
  }

  private async moveHere(found: FoundSession, seenSeq: number): Promise<Session | null> {
    const sessionId = found.session.id;
    // Whatever the outcome, the dead node's copy is not ours to reap any more.
    this.presence.claim(sessionId);
    // Bound and subscribed first, holding what arrives: from here on nothing for it can miss this node.
    const session = await this.sessions.adopt(found.session, seenSeq);
    for (const topic of found.session.topics) {
      session.topics.add(topic);
      await this.subscriptions.subscribe(topic, session.id);
    }
    let outcome: HandoverOutcome = found.live ? await this.handover.ask(found.nodeId, sessionId, seenSeq) : { kind: 'silent' };
    // It moved on from there before presence told us: follow it, a few hops at most.
    for (let hops = 0; outcome.kind === 'moved' && hops < MAX_HANDOVER_HOPS; hops++) {
      // Pointed back here: it went on from here since, and this node knows where.
      const next = outcome.nodeId === this.nodeId ? this.sessions.movedTo(sessionId) : outcome.nodeId;
      outcome = next === undefined || next === this.nodeId ? { kind: 'gone' } : await this.handover.ask(next, sessionId, seenSeq);
    }
    if (outcome.kind === 'moved' || outcome.kind === 'gone') {
      // It ended there (or moved on) after presence last heard: a stale copy, not a session to continue.
      this.sessions.evict(sessionId);
      return null;
    }
    const window = outcome.kind === 'handed' ? outcome.window : null;
    session.takeOver(window, seenSeq);
    this.router.remember(window?.frames.map((f) => f.id) ?? []);
    this.announce(session);
    const how = outcome.kind === 'handed' ? `with ${outcome.window.frames.length} callbacks` : 'from a node that is gone';
    this.logger.log(`session ${sessionId} moved to this node from ${found.nodeId}, ${how}`);
    return session;
  }

  async subscribe(session: Session, topic: string): Promise<void> {
    checkTopic(topic);
    const authorize = this.options.authorizeSubscription;
    if (authorize && !(await authorize(session, topic))) {
      throw new DuplexError('FORBIDDEN', `this session may not subscribe to "${topic}"`);
    }
    if (session.ended) return;
    session.topics.add(topic);
    await this.subscriptions.subscribe(topic, session.id);
    this.announce(session);
  }

  async unsubscribe(session: Session, topic: string): Promise<void> {
    checkTopic(topic);
    if (!session.topics.delete(topic)) return;
    await this.subscriptions.unsubscribe(topic, session.id);
    this.announce(session);
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

  private announce(session: Session): void {
    if (!session.ended) this.presence.announce(session.presence());
  }

  private receive(message: BusMessage, address: BusAddress): void {
    if (message.type === 'callback' || message.type === 'reply') this.router.handle(message, address);
    else if (isPresenceMessage(message)) this.presence.handle(message);
    else if (message.type === 'handover-request') void this.handover.answer(message);
    else if (message.type === 'handover') this.handover.handle(message);
    else if (message.type === 'session-locate') void this.handover.located(message);
    else if (message.type === 'session-located') this.handover.handleLocated(message);
    // A reap arrives through the job queue, not here.
  }

  /** Ends a session of a dead node here, as if it had been ours. */
  private async endRemote(info: PresenceSession): Promise<void> {
    const session = new Session(info.id, info.identity, 1, 0);
    session.attributes = { ...info.attributes };
    session.ended = true;
    this.logger.log(`ending session ${info.id} of a dead node`);
    await this.runEndHooks(session);
  }

  private async runEndHooks(session: Session): Promise<void> {
    for (const { contract, instance } of this.services.all()) {
      if (!hasSessionEndHook(instance)) continue;
      try {
        await callContext.run({ session }, async () => instance.onSessionEnd(session));
      } catch (error) {
        this.logger.error(`${contract.name}.onSessionEnd failed for ${session.id}: ${(error as Error)?.stack ?? error}`);
      }
    }
  }
}
