import * as amqp from 'amqplib';
import { parseBrokerUrls } from './broker-list';

/**
 * The names a cluster declares on the broker under its prefix, in one place:
 * the bus and the state log name their exchanges and queues with these, and
 * removeTopology deletes exactly them.
 */
export const topology = {
  /** The prefix of a cluster that names none (AMQP_PREFIX). */
  defaultPrefix: 'duplex',
  /** The topic exchange every callback and bus message goes through. */
  exchange: (prefix: string) => `${prefix}.callbacks`,
  /**
   * A node's inbox; durable, it outlives a lost connection until it has been
   * unused for the inbox TTL. It lives on one broker: a node that fails over
   * while that broker is down makes the next generation (`.g1`, `.g2`…) on
   * the broker it is on, bound to the same keys.
   */
  nodeQueue: (prefix: string, nodeId: string, generation = 0) => `${prefix}.node.${nodeId}${generation > 0 ? `.g${generation}` : ''}`,
  /**
   * A transient, auto-delete exchange bound to an inbox: gone when the
   * broker restarts (taking the inbox's unconsumed, transient messages with
   * it) or when the inbox expires, so a node that finds it missing after a
   * reconnect knows messages to it may have been lost.
   */
  inboxMarker: (inbox: string) => `${inbox}.alive`,
  /** A durable job queue (a quorum queue, replicated across the brokers) with one active consumer in the cluster. */
  jobQueue: (prefix: string, name: string) => `${prefix}.jobs.${name}`,
  /** The shared state's stream. */
  stateStream: (prefix: string) => `${prefix}.state`,
  /** The newest snapshot of the shared state. */
  stateSnapshots: (prefix: string) => `${prefix}.state.snapshot`,
};

/**
 * Deletes what a cluster leaves on the broker once all its nodes stopped:
 * the exchange, the named job queues, the state stream and its snapshots.
 * This is the end of a cluster's shared state; tests and benchmarks call it
 * for prefixes of their own. Deleting what does not exist is not an error.
 * `url` is one broker, or a comma-separated list of which the first is used.
 */
export async function removeTopology(url: string, prefix: string, jobQueues: string[]): Promise<void> {
  const connection = await amqp.connect(parseBrokerUrls(url).urls[0]);
  try {
    const channel = await connection.createChannel();
    for (const name of jobQueues) await channel.deleteQueue(topology.jobQueue(prefix, name));
    await channel.deleteQueue(topology.stateStream(prefix));
    await channel.deleteQueue(topology.stateSnapshots(prefix));
    await channel.deleteExchange(topology.exchange(prefix));
  } finally {
    await connection.close().catch(() => undefined);
  }
}
