import { AmqpStreamLog } from './amqp-stream-log';
import { MemoryLog } from './memory-log';
import type { ReplicationLog } from './replication-log';

/** The stream log on the same broker as the bus when one is configured, else the memory log. */
export function createLog(
  nodeId: string,
  amqp: { url?: string; prefix?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): ReplicationLog {
  const url = amqp.url ?? env.AMQP_URL;
  if (!url) return new MemoryLog();
  return new AmqpStreamLog({
    url,
    nodeId,
    prefix: amqp.prefix ?? env.AMQP_PREFIX ?? 'duplex',
    retention: env.STATE_RETENTION,
    snapshotEvery: Number(env.STATE_SNAPSHOT_EVERY) || undefined,
    maxBackoffMs: Number(env.AMQP_MAX_BACKOFF_MS) || undefined,
  });
}
