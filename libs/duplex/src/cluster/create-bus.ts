import { Logger } from '@nestjs/common';
import type { Bus } from './bus';
import { AmqpBus } from './amqp-bus';
import { MemoryBus } from './memory-bus';

/** The memory bus unless an AMQP URL is configured (option, else `AMQP_URL`). */
export function createBus(
  nodeId: string,
  amqp: { url?: string; prefix?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): Bus {
  const url = amqp.url ?? env.AMQP_URL;
  if (!url) return new MemoryBus(nodeId);
  const prefix = amqp.prefix ?? env.AMQP_PREFIX ?? 'duplex';
  new Logger('Bus').log(`node ${nodeId} uses RabbitMQ at ${redact(url)} (prefix "${prefix}")`);
  const maxBackoffMs = Number(env.AMQP_MAX_BACKOFF_MS) || undefined;
  return new AmqpBus({ url, nodeId, prefix, maxBackoffMs });
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable AMQP_URL)';
  }
}
