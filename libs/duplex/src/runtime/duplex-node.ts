import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { BUS, type Bus } from '../cluster/bus';
import type { BusAddress } from '../cluster/bus-address';
import { type BusMessage, isPresenceMessage } from '../cluster/bus-message';
import { ClusterPresence } from '../presence/cluster-presence';
import { ReplicatedStore } from '../state/replicated-store';
import { CallbackRouter } from './callback-router';
import { ServiceRegistry } from './service-registry';
import { SessionHandover } from './session-handover';
import { SessionLocator } from './session-locator';
import { SessionRoutes } from './session-routes';
import { SessionRegistry } from './session-registry';

/**
 * One node's start and stop, in the order they need, and the bus's messages
 * from other nodes, each to the part it is for. It holds no state and
 * exposes nothing: the gateway, health and metrics inject the parts they use.
 */
@Injectable()
export class DuplexNode implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DuplexNode.name);

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly store: ReplicatedStore,
    private readonly services: ServiceRegistry,
    private readonly sessions: SessionRegistry,
    private readonly presence: ClusterPresence,
    private readonly handover: SessionHandover,
    private readonly locator: SessionLocator,
    private readonly routes: SessionRoutes,
    private readonly router: CallbackRouter,
  ) {}

  async onModuleInit(): Promise<void> {
    this.services.discover();
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
    this.logger.log(`node ${this.bus.nodeId} hosts ${names.join(', ') || 'no services'}`);
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

  private receive(message: BusMessage, address: BusAddress): void {
    if (message.type === 'callback' || message.type === 'reply') this.router.handle(message, address);
    else if (isPresenceMessage(message)) this.presence.handle(message);
    else if (message.type === 'handover-request') void this.handover.answer(message);
    else if (message.type === 'handover') this.handover.handle(message);
    else if (message.type === 'session-locate') void this.handover.located(message);
    else if (message.type === 'session-located') this.locator.handle(message);
    else if (message.type === 'session-moved') this.routes.moved(message);
    // A reap arrives through the job queue, not here.
  }
}
