import { collect, cpuMs, drained } from './processes';
import { pace } from './publisher';
import { scenario } from './scenario';
import { round } from './stats';
import type { BenchEnv, SocketIoAdapter } from './systems';
import type { SystemKind } from './subscribers';

export interface InterestOptions {
  nodes: number;
  /** Topics per node; each topic's subscribers are all on one node. */
  topicsPerNode: number;
  /** Publishes per second, each to a topic chosen at random. */
  rate: number;
  durationMs: number;
}

export interface InterestResult {
  deliveries: number;
  /**
   * On the nodes that do not publish: the CPU the load adds (over the same
   * time idle) per callback the node delivers, µs, the median node's.
   */
  receivingMicros: number;
  /** The same, node by node; the publishing node's (its calls included) first. */
  perNode: number[];
}

/**
 * Many nodes, many topics, each topic's subscribers on one node, publishes
 * to every topic from one client on the first node: what routing by
 * interest buys. A node of this project receives only what it delivers; a
 * Socket.IO server with the classic Redis adapter receives every broadcast
 * of the cluster and looks for local members of its room; with the sharded
 * adapter (a Redis channel per room), only what it delivers. Idle nodes
 * still spend CPU (heartbeats, timers), so each node's idle CPU over the
 * same time is taken off: what is left is what the load costs it.
 */
export function interestRouting(kind: SystemKind, env: BenchEnv, options: InterestOptions, adapter?: SocketIoAdapter): Promise<InterestResult> {
  return scenario({ kind, nodes: options.nodes, env, adapter }, async (cluster) => {
    const topics = cluster.servers.map((_, n) => Array.from({ length: options.topicsPerNode }, (_, t) => `n${n}-t${t}`));
    const groups = [];
    for (const [n, server] of cluster.servers.entries()) {
      groups.push(await cluster.subscribers({ urls: [server.url], count: options.topicsPerNode, topics: topics[n] }));
    }
    const all = topics.flat();
    const publisher = await cluster.publisher();
    const publish = () => publisher.publish(all[Math.floor(Math.random() * all.length)]);
    // A warm-up second: neither system measured compiling its hot path.
    const warmup = await pace(options.rate, 1_000, publish);
    await drained(groups, warmup.sent, 10_000);
    const cpu = () => cluster.servers.map((server) => cpuMs(server.pid));
    const idleFrom = cpu();
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    const idle = cpu().map((ms, i) => ms - idleFrom[i]);
    await Promise.all(groups.map((group) => group.reset(false)));
    const before = cpu();
    const { sent } = await pace(options.rate, options.durationMs, publish);
    const { delivered } = await drained(groups, sent, 10_000);
    const loaded = cpu().map((ms, i) => ms - before[i] - idle[i]);
    const byNode = await Promise.all(groups.map(async (group) => (await collect([group])).delivered));
    const perNode = loaded.map((ms, i) => round((ms * 1000) / Math.max(1, byNode[i])));
    const receiving = perNode.slice(1).sort((a, b) => a - b);
    return { deliveries: delivered, receivingMicros: receiving[Math.floor(receiving.length / 2)], perNode };
  });
}
