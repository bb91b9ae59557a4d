import { ServerProcess, startServer } from './processes';
import type { SystemKind } from './subscribers';

export interface BenchEnv {
  amqpUrl: string;
  redisUrl: string;
  /** Names this run's exchanges, queues and Redis channels. */
  prefix: string;
}

/** How Socket.IO servers are joined: the classic Redis adapter, the sharded one, or not at all (one server alone). */
export type SocketIoAdapter = 'redis' | 'sharded' | 'none';

/**
 * `nodes` servers of one kind, joined as users would join them: duplex nodes
 * on one RabbitMQ, Socket.IO servers through the Redis adapter.
 */
export async function startCluster(kind: SystemKind, nodes: number, env: BenchEnv, adapter: SocketIoAdapter = 'redis'): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (let i = 1; i <= nodes; i++) {
    const vars: Record<string, string> =
      kind === 'duplex'
        ? { AMQP_URL: env.amqpUrl, AMQP_PREFIX: env.prefix, NODE_ID: `${env.prefix}-n${i}`, DUPLEX_SECRET: `secret-${env.prefix}` }
        : adapter === 'none'
          ? {}
          : { REDIS_URL: env.redisUrl, REDIS_KEY: env.prefix, REDIS_SHARDED: adapter === 'sharded' ? '1' : '0' };
    servers.push(await startServer(kind, vars));
  }
  return servers;
}

export const stopCluster = (servers: ServerProcess[]) => Promise.all(servers.map((server) => server.stop()));
