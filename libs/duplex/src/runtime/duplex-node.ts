import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { BUS, type Bus } from '../cluster/bus';
import type { ContractDefinition } from '../contracts/contract';
import { DUPLEX_SERVICE } from '../contracts/duplex-service.decorator';
import { hasSessionEndHook } from '../contracts/session-info';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { callContext } from './call-context';
import { CallbackRouter } from './callback-router';
import { OperationDispatcher } from './operation-dispatcher';
import { ServiceRegistry } from './service-registry';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';

/**
 * One node: the composition root of the runtime. The gateway feeds it frames
 * and connections; the bus feeds it messages from other nodes.
 */
@Injectable()
export class DuplexNode implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DuplexNode.name);
  readonly services = new ServiceRegistry();
  readonly subscriptions: TopicSubscriptions;
  readonly sessions: SessionRegistry;
  readonly router: CallbackRouter;
  readonly dispatcher: OperationDispatcher;

  constructor(
    @Inject(BUS) readonly bus: Bus,
    @Inject(DUPLEX_OPTIONS) readonly options: ResolvedDuplexOptions,
    private readonly discovery: DiscoveryService,
  ) {
    this.subscriptions = new TopicSubscriptions(bus);
    this.sessions = new SessionRegistry(bus, this.subscriptions, options, (session) => this.runEndHooks(session));
    this.router = new CallbackRouter(bus, this.subscriptions, (id) => this.sessions.get(id));
    this.dispatcher = new OperationDispatcher(this.services, options.maxCallBytes);
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  async onModuleInit(): Promise<void> {
    for (const wrapper of this.discovery.getProviders()) {
      const contract: ContractDefinition | undefined =
        wrapper.metatype && wrapper.instance ? Reflect.getMetadata(DUPLEX_SERVICE, wrapper.metatype) : undefined;
      if (contract) this.services.register(contract, wrapper.instance as object);
    }
    await this.bus.start((message, address) => this.router.handle(message, address));
    const names = this.services.all().map((s) => s.contract.name);
    this.logger.log(`node ${this.nodeId} hosts ${names.join(', ') || 'no services'}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.router.close();
    await this.bus.close();
  }

  async subscribe(session: Session, topic: string): Promise<void> {
    if (session.ended) return;
    session.topics.add(topic);
    await this.subscriptions.subscribe(topic, session.id);
  }

  async unsubscribe(session: Session, topic: string): Promise<void> {
    session.topics.delete(topic);
    await this.subscriptions.unsubscribe(topic, session.id);
  }

  private async runEndHooks(session: Session): Promise<void> {
    for (const { contract, instance } of this.services.all()) {
      if (!hasSessionEndHook(instance)) continue;
      try {
        await callContext.run(session, async () => instance.onSessionEnd(session));
      } catch (error) {
        this.logger.error(`${contract.name}.onSessionEnd failed for ${session.id}: ${(error as Error)?.stack ?? error}`);
      }
    }
  }
}
