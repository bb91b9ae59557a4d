import type { DuplexStateOptions, ResolvedAmqpOptions } from '../duplex-options';
import { AmqpStreamLog } from './amqp-stream-log';
import { MemoryLog } from './memory-log';
import type { ReplicationLog } from './replication-log';

/** The stream log on the same broker as the bus when one is configured, else the memory log. */
export function createLog(nodeId: string, amqp: ResolvedAmqpOptions | null, state: Required<DuplexStateOptions>): ReplicationLog {
  if (!amqp) return new MemoryLog();
  return new AmqpStreamLog({ nodeId, urls: amqp.urls, prefix: amqp.prefix, maxBackoffMs: amqp.maxBackoffMs, ...state });
}
