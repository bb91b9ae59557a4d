import { topology } from './amqp-topology';

/** The broker settings the bus and the state log share, so that both always land on the same broker and prefix. */
export interface AmqpSettings {
  url: string;
  prefix: string;
  maxBackoffMs?: number;
}

/** From options, else the environment (`AMQP_URL`, `AMQP_PREFIX`, `AMQP_MAX_BACKOFF_MS`); null when no broker is configured. */
export function amqpSettings(amqp: { url?: string; prefix?: string } = {}, env: NodeJS.ProcessEnv = process.env): AmqpSettings | null {
  const url = amqp.url ?? env.AMQP_URL;
  if (!url) return null;
  return { url, prefix: amqp.prefix ?? env.AMQP_PREFIX ?? topology.defaultPrefix, maxBackoffMs: Number(env.AMQP_MAX_BACKOFF_MS) || undefined };
}
