import { Logger } from '@nestjs/common';
import type { Bus } from './bus';
import { AmqpBus } from './amqp-bus';
import { amqpSettings } from './amqp-settings';
import { MemoryBus } from './memory-bus';

/** The memory bus unless an AMQP URL is configured (option, else `AMQP_URL`). */
export function createBus(
  nodeId: string,
  amqp: { url?: string; prefix?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): Bus {
  const settings = amqpSettings(amqp, env);
  if (!settings) return new MemoryBus(nodeId);
  new Logger('Bus').log(`node ${nodeId} uses RabbitMQ at ${redact(settings.url)} (prefix "${settings.prefix}")`);
  return new AmqpBus({ nodeId, ...settings, inboxTtlMs: Number(env.AMQP_INBOX_TTL_MS) || undefined });
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
