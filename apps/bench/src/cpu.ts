import { cpuMs, drained, SubscriberGroup } from './processes';
import { connectPublisher, pace } from './publisher';
import { round } from './stats';
import { BenchEnv, startCluster, stopCluster } from './systems';
import type { SystemKind } from './subscribers';

export interface CpuOptions {
  subscribers: number;
  /** Publishes per second: low enough that both systems deliver everything on time. */
  rate: number;
  durationMs: number;
  /** Rounds per system; the systems alternate, and the median round is reported. */
  rounds: number;
}

export interface CpuResult {
  deliveries: number;
  /** CPU (user + system) per delivered callback, in µs, of the median round. */
  serverMicros: number;
  clientMicros: number;
  rounds: Array<{ serverMicros: number; clientMicros: number }>;
}

/**
 * What one delivery costs in CPU, on one node with its clients in one
 * process, at a fixed load both systems keep up with. Unlike the fan-out
 * ramp, this does not depend on where a step lands, so it is the steadier
 * figure of efficiency; the ramp is the one of capacity.
 */
export async function cpuPerDelivery(env: BenchEnv, options: CpuOptions): Promise<Record<SystemKind, CpuResult>> {
  const rounds: Record<SystemKind, CpuResult['rounds']> = { duplex: [], socketio: [] };
  let deliveries = 0;
  for (let i = 0; i < options.rounds; i++) {
    for (const kind of ['duplex', 'socketio'] as const) {
      const measured = await oneRound(kind, env, options);
      rounds[kind].push(measured);
      deliveries = measured.deliveries;
    }
  }
  const result = (kind: SystemKind): CpuResult => {
    const sorted = [...rounds[kind]].sort((a, b) => a.serverMicros + a.clientMicros - (b.serverMicros + b.clientMicros));
    const median = sorted[Math.floor(sorted.length / 2)];
    return { deliveries, serverMicros: median.serverMicros, clientMicros: median.clientMicros, rounds: rounds[kind] };
  };
  return { duplex: result('duplex'), socketio: result('socketio') };
}

async function oneRound(kind: SystemKind, env: BenchEnv, options: CpuOptions) {
  const [server] = await startCluster(kind, 1, env);
  let group: SubscriberGroup | undefined;
  try {
    group = await SubscriberGroup.start({ type: 'connect', kind, urls: [server.url], count: options.subscribers, topic: 'cpu' });
    const publisher = await connectPublisher(kind, server.url);
    try {
      // A warm-up second, so that neither system is measured compiling its hot path.
      await pace(options.rate, 1_000, () => publisher.publish('cpu'));
      await new Promise((r) => setTimeout(r, 500));
      await group.reset(false);
      const [server0, client0] = [cpuMs(server.pid), cpuMs(group.pid)];
      const { sent } = await pace(options.rate, options.durationMs, () => publisher.publish('cpu'));
      const report = await drained([group], sent * options.subscribers, 10_000);
      const [server1, client1] = [cpuMs(server.pid), cpuMs(group.pid)];
      const perDelivery = (ms: number) => round((ms * 1000) / report.delivered);
      return { deliveries: report.delivered, serverMicros: perDelivery(server1 - server0), clientMicros: perDelivery(client1 - client0) };
    } finally {
      publisher.close();
    }
  } finally {
    await group?.stop();
    await stopCluster([server]);
  }
}
