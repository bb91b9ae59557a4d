import { ServerProcess, startServer } from './processes';
import type { SystemKind } from './subscribers';

export interface BenchEnv {
  amqpUrl: string;
  redisUrl: string;
  /** Names this run's exchanges, queues and Redis channels. */
  prefix: string;
}

/**
 * `nodes` servers of one kind, joined as users would join them: duplex nodes
 * on one RabbitMQ, Socket.IO servers through the Redis adapter. `bare` is a
 * single Socket.IO server with no adapter at all.
 */
export async function startCluster(kind: SystemKind, nodes: number, env: BenchEnv, bare = false): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (let i = 1; i <= nodes; i++) {
    const vars: Record<string, string> =
      kind === 'duplex'
        ? { AMQP_URL: env.amqpUrl, AMQP_PREFIX: env.prefix, NODE_ID: `${env.prefix}-n${i}`, DUPLEX_SECRET: `secret-${env.prefix}` }
        : bare
          ? {}
          : { REDIS_URL: env.redisUrl, REDIS_KEY: env.prefix };
    servers.push(await startServer(kind, vars));
  }
  return servers;
}

export const stopCluster = (servers: ServerProcess[]) => Promise.all(servers.map((server) => server.stop()));
