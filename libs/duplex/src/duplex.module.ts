import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BUS, type Bus } from './cluster/bus';
import { createBus } from './cluster/create-bus';
import { ConfigurableDuplexModule, DUPLEX_ASYNC_OPTIONS_TYPE, DUPLEX_MODULE_OPTIONS, DUPLEX_OPTIONS_TYPE } from './duplex.module-definition';
import { DUPLEX_OPTIONS, type DuplexOptions, type ResolvedDuplexOptions, resolveOptions } from './duplex-options';
import { DuplexGateway } from './gateway/duplex-gateway';
import { SessionQuotas } from './gateway/session-quotas';
import { DuplexMetrics } from './metrics/duplex-metrics';
import { DuplexContext } from './runtime/duplex-context';
import { DuplexHealth } from './runtime/duplex-health';
import { DuplexNode } from './runtime/duplex-node';
import { NodeDrain } from './runtime/node-drain';
import { NodeEvents } from './runtime/node-events';
import { OperationDispatcher } from './runtime/operation-dispatcher';
import { OperationPipeline } from './runtime/operation-pipeline';
import { ServiceRegistry } from './runtime/service-registry';
import { SessionAdmission } from './runtime/session-admission';
import { SessionEndHooks } from './runtime/session-end-hooks';
import { SessionHandover } from './runtime/session-handover';
import { SessionLocator } from './runtime/session-locator';
import { SessionRoutes } from './runtime/session-routes';
import { SessionMembership } from './runtime/session-membership';
import { SessionRegistry } from './runtime/session-registry';
import { CallbackRouter } from './runtime/callback-router';
import { ClusterPresence } from './presence/cluster-presence';
import { TopicSubscriptions } from './presence/topic-subscriptions';
import { createLog } from './state/create-log';
import { ReplicatedStore } from './state/replicated-store';
import { REPLICATION_LOG, type ReplicationLog } from './state/replication-log';

/**
 * Import once in the root module, with `forRoot(options)` or
 * `forRootAsync({ imports, useFactory, inject })`. Services are ordinary
 * providers marked with @DuplexService in any module; the node finds them at
 * start-up. Global unless `isGlobal: false`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    // Resolved when the app starts (not when a module file is imported), and refused there if inconsistent.
    { provide: DUPLEX_OPTIONS, useFactory: (options: DuplexOptions) => resolveOptions(options), inject: [DUPLEX_MODULE_OPTIONS] },
    { provide: BUS, useFactory: (o: ResolvedDuplexOptions) => createBus(o.nodeId, o.amqp), inject: [DUPLEX_OPTIONS] },
    { provide: REPLICATION_LOG, useFactory: (o: ResolvedDuplexOptions) => createLog(o.nodeId, o.amqp, o.state), inject: [DUPLEX_OPTIONS] },
    { provide: ReplicatedStore, useFactory: (log: ReplicationLog) => new ReplicatedStore(log), inject: [REPLICATION_LOG] },
    // The runtime, each part a provider; dependencies run one way (README, Layout).
    NodeEvents,
    OperationPipeline,
    ServiceRegistry,
    SessionEndHooks,
    TopicSubscriptions,
    SessionRegistry,
    ClusterPresence,
    SessionHandover,
    SessionLocator,
    SessionRoutes,
    SessionMembership,
    // Also built by the emitter, outside Nest, with no sessions of its own: hence a factory.
    {
      provide: CallbackRouter,
      useFactory: (bus: Bus, subscriptions: TopicSubscriptions, sessions: SessionRegistry, routes: SessionRoutes, events: NodeEvents) =>
        new CallbackRouter(bus, subscriptions, sessions, routes, events),
      inject: [BUS, TopicSubscriptions, SessionRegistry, SessionRoutes, NodeEvents],
    },
    SessionAdmission,
    NodeDrain,
    OperationDispatcher,
    DuplexNode,
    DuplexContext,
    SessionQuotas,
    DuplexGateway,
    DuplexMetrics,
    DuplexHealth,
  ],
  exports: [DuplexContext, ReplicatedStore, DuplexMetrics, DuplexHealth, NodeDrain],
})
export class DuplexModule extends ConfigurableDuplexModule {
  /** Options in code; whatever is left out comes from the environment (README, Configuration). */
  static forRoot(options: typeof DUPLEX_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Options from other providers, e.g. `{ imports: [ConfigModule], inject: [ConfigService], useFactory: (config) => ({ … }) }`. */
  static forRootAsync(options: typeof DUPLEX_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
