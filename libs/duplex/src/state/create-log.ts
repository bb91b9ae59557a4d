import { amqpSettings } from '../cluster/amqp-settings';
import { AmqpStreamLog } from './amqp-stream-log';
import { MemoryLog } from './memory-log';
import type { ReplicationLog } from './replication-log';

/** The stream log on the same broker as the bus when one is configured, else the memory log. */
export function createLog(
  nodeId: string,
  amqp: { url?: string; prefix?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): ReplicationLog {
  const settings = amqpSettings(amqp, env);
  if (!settings) return new MemoryLog();
  return new AmqpStreamLog({
    nodeId,
    ...settings,
    retention: env.STATE_RETENTION,
    snapshotEvery: Number(env.STATE_SNAPSHOT_EVERY) || undefined,
  });
}
