import { REAPER_QUEUE, removeTopology as removeClusterTopology } from '@nest-duplex/server/internal';
import { NodeProcess, startNode } from './node-process';

/** A fresh name prefix per suite, under the run's prefix (see broker.global-setup). */
export function suitePrefix(name: string): string {
  return `${process.env.AMQP_TEST_RUN ?? 'manual'}.${name}`;
}

export interface ClusterOptions {
  prefix: string;
  url?: string;
  env?: Record<string, string>;
}

/** Fast failure detection for tests: 300 ms heartbeats, dead after 1.2 s, 1 s grace. */
export const FAST_PRESENCE = { HEARTBEAT_MS: '300', HEARTBEAT_TIMEOUT_MS: '1200', SESSION_GRACE_MS: '1000' };

export async function startClusterNode(index: number, options: ClusterOptions): Promise<NodeProcess> {
  const url = options.url ?? process.env.AMQP_URL;
  if (!url) throw new Error('AMQP_URL is not set: the cluster project\'s global setup provides it');
  return startNode({
    ...FAST_PRESENCE,
    AMQP_URL: url,
    AMQP_PREFIX: options.prefix,
    NODE_ID: `${options.prefix}-n${index}`,
    DUPLEX_SECRET: `secret-${options.prefix}`,
    ...options.env,
  });
}

/** Deletes what a suite declared that outlives its nodes (jobs.test: the bus suite's own job queue). */
export async function removeTopology(prefix: string, url = process.env.AMQP_URL): Promise<void> {
  if (url) await removeClusterTopology(url, prefix, [REAPER_QUEUE, 'test']);
}

/** The node's delivery counters, from /health. */
export async function delivered(node: NodeProcess): Promise<Record<string, number>> {
  const response = await fetch(`${node.url}/health`);
  const body = (await response.json()) as { bus: { delivered: Record<string, number> } };
  return body.bus.delivered;
}
