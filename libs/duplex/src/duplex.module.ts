import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BUS } from './cluster/bus';
import { createBus } from './cluster/create-bus';
import { DUPLEX_OPTIONS, DuplexOptions, ResolvedDuplexOptions, resolveOptions } from './duplex-options';
import { DuplexGateway } from './gateway/duplex-gateway';
import { DuplexMetrics } from './metrics/duplex-metrics';
import { DuplexContext } from './runtime/duplex-context';
import { DuplexHealth } from './runtime/duplex-health';
import { DuplexNode } from './runtime/duplex-node';
import { createLog } from './state/create-log';
import { ReplicatedStore } from './state/replicated-store';
import { REPLICATION_LOG, type ReplicationLog } from './state/replication-log';

/**
 * Import once in the root module. Services are ordinary providers marked with
 * @DuplexService in any module; the node finds them at start-up.
 */
@Module({})
export class DuplexModule {
  static forRoot(options: DuplexOptions = {}): DynamicModule {
    return {
      module: DuplexModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        // A factory, so the environment is read when the app starts, not when its module file is imported.
        { provide: DUPLEX_OPTIONS, useFactory: () => resolveOptions(options) },
        {
          provide: BUS,
          useFactory: (resolved: ResolvedDuplexOptions) => createBus(resolved.nodeId, resolved.amqp),
          inject: [DUPLEX_OPTIONS],
        },
        {
          provide: REPLICATION_LOG,
          useFactory: (resolved: ResolvedDuplexOptions) => createLog(resolved.nodeId, resolved.amqp),
          inject: [DUPLEX_OPTIONS],
        },
        {
          provide: ReplicatedStore,
          useFactory: (log: ReplicationLog) => new ReplicatedStore(log),
          inject: [REPLICATION_LOG],
        },
        DuplexNode,
        DuplexContext,
        DuplexGateway,
        DuplexMetrics,
        DuplexHealth,
      ],
      exports: [DuplexContext, DuplexNode, ReplicatedStore, DuplexMetrics, DuplexHealth, DUPLEX_OPTIONS],
    };
  }
}
