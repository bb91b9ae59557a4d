import { Injectable } from '@nestjs/common';
import type { BusStats } from '../cluster/bus';
import { DuplexNode } from './duplex-node';

/** What a node says about itself: for a health endpoint or a load balancer's check. */
export interface HealthReport {
  /** Serving: the bus is up and the shared state has caught up. */
  ready: boolean;
  nodeId: string;
  /** Sessions held on this node. */
  sessions: number;
  /** Ids of the nodes this node sees alive, itself included. */
  nodes: string[];
  bus: BusStats;
  state: { ready: boolean; position: number };
}

/** The node's health, without the node's internals. */
@Injectable()
export class DuplexHealth {
  constructor(private readonly node: DuplexNode) {}

  /** `recentLatency`: summarise bus latencies over the last N messages only (default: all held). */
  report(recentLatency?: number): HealthReport {
    const { node } = this;
    return {
      ready: node.ready,
      nodeId: node.nodeId,
      sessions: node.sessions.size,
      nodes: node.presence.liveNodes(),
      bus: node.bus.stats(recentLatency),
      state: { ready: node.store.ready, position: node.store.position },
    };
  }
}
