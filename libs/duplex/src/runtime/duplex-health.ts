import { Inject, Injectable } from '@nestjs/common';
import { BUS, type Bus, type BusStats } from '../cluster/bus';
import type { LatencySummary } from '../cluster/latency-window';
import { ClusterPresence } from '../presence/cluster-presence';
import { ReplicatedStore } from '../state/replicated-store';
import { NodeDrain } from './node-drain';
import { SessionRegistry } from './session-registry';

/** What a node says about itself: for a health endpoint, a load balancer's check, or metrics. */
export interface HealthReport {
  /** Serving: the bus is up, the shared state has caught up, and the node is not draining. */
  ready: boolean;
  /** The node is emptying itself before it stops: it takes no new connections. */
  draining: boolean;
  nodeId: string;
  /** Sessions held on this node, connected or within their grace period. */
  sessions: number;
  /** Sessions with a connected client on this node. */
  connections: number;
  /** Ids of the nodes this node sees alive, itself included. */
  nodes: string[];
  bus: BusStats;
  /** `lag`: a shared-state write from append to applied here, over recent writes (ms). */
  state: { ready: boolean; position: number; lag: LatencySummary };
}

/** Whether the node can run calls now; cheap enough to ask on every call. */
export interface NodeReadiness {
  /** The bus is up and the shared state has caught up (a draining node still serves its clients until they move). */
  readonly serving: boolean;
}

/** The node's health, as one snapshot, without the node's internals. */
@Injectable()
export class DuplexHealth implements NodeReadiness {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly store: ReplicatedStore,
    private readonly sessions: SessionRegistry,
    private readonly presence: ClusterPresence,
    private readonly drain: NodeDrain,
  ) {}

  get serving(): boolean {
    return this.bus.connected && this.store.ready;
  }

  /** Ready for new clients: serving, and not draining. What a load balancer asks. */
  get ready(): boolean {
    return this.serving && !this.drain.draining;
  }

  /** `recentLatency`: summarise bus latencies over the last N messages only (default: all held). */
  report(recentLatency?: number): HealthReport {
    let connections = 0;
    for (const session of this.sessions.all()) if (session.connected) connections++;
    return {
      ready: this.ready,
      draining: this.drain.draining,
      nodeId: this.bus.nodeId,
      sessions: this.sessions.size,
      connections,
      nodes: this.presence.liveNodes(),
      bus: this.bus.stats(recentLatency),
      state: { ready: this.store.ready, position: this.store.position, lag: this.store.writeLatency.summary() },
    };
  }
}
