import { type DuplexAmqpOptions, DuplexOptionsError, numberReader, resolveAmqp, type ResolvedAmqpOptions } from '../duplex-options';

/** A process that raises callbacks without being a node: a worker, a cron job, an HTTP service. */
export interface DuplexEmitterOptions {
  /** The cluster's broker, as its nodes have it; `url` (default `AMQP_URL`) is required. */
  amqp?: Pick<DuplexAmqpOptions, 'url' | 'prefix' | 'maxBackoffMs'>;
  /** Default wait for a request-reply callback's answer (ms). Default `CALLBACK_TIMEOUT_MS`, else 10000. */
  callbackTimeoutMs?: number;
  /** This process's name on the bus, where answers come back. Default: `emitter-<pid>-<random>`. */
  id?: string;
  /** The cluster's heartbeat timeout: how long finding a session's node waits for the nodes to answer (ms). Default `HEARTBEAT_TIMEOUT_MS`, else 3000. */
  heartbeatTimeoutMs?: number;
}

export interface ResolvedEmitterOptions {
  amqp: ResolvedAmqpOptions;
  callbackTimeoutMs: number;
  id: string;
  heartbeatTimeoutMs: number;
}

/** Like the node's options: code, else the environment, else the default; refused, listing every problem. */
export function resolveEmitterOptions(options: DuplexEmitterOptions, env: NodeJS.ProcessEnv = process.env): ResolvedEmitterOptions {
  const problems: string[] = [];
  const amqp = resolveAmqp(options.amqp ?? {}, env, problems);
  if (!amqp) problems.push('a DuplexEmitter needs the cluster\'s broker: amqp.url (AMQP_URL)');
  const read = numberReader(env, problems);
  const callbackTimeoutMs = read('callbackTimeoutMs', options.callbackTimeoutMs, 'CALLBACK_TIMEOUT_MS', 10_000, 1);
  const heartbeatTimeoutMs = read('heartbeatTimeoutMs', options.heartbeatTimeoutMs, 'HEARTBEAT_TIMEOUT_MS', 3_000, 1);
  if (problems.length > 0 || !amqp) throw new DuplexOptionsError(problems, 'DuplexEmitter');
  return { amqp, callbackTimeoutMs, heartbeatTimeoutMs, id: options.id ?? `emitter-${process.pid}-${Math.random().toString(36).slice(2, 8)}` };
}
