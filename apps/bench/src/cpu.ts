import { cpuMs, drained, type ServerProcess, type SubscriberGroup } from './processes';
import { pace, type Publisher } from './publisher';
import { scenario } from './scenario';
import { round } from './stats';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

export interface CpuOptions {
  /** Subscribed clients in the first measurement, then in the second: two counts separate fixed from marginal cost. */
  subscribers: [number, number];
  /** Publishes per second: low enough that both systems deliver everything on time. */
  rate: number;
  durationMs: number;
  /** Rounds per system; the systems alternate, and the median round is reported. */
  rounds: number;
}

/** One round's server figures, in µs of CPU (user + system). */
interface CpuRound {
  /** Per delivered callback, at the larger client count. */
  serverMicros: number;
  /** What each further subscriber adds per publish: the cost of one more delivery. */
  marginalMicros: number;
  /** What a publish costs besides its deliveries: the call, the broker round trip, the decode. */
  perPublishMicros: number;
  /** Per delivered callback, the clients' process, at the larger count. */
  clientMicros: number;
}

export interface CpuResult extends CpuRound {
  subscribers: [number, number];
  deliveries: number;
  rounds: CpuRound[];
}

/**
 * What delivery costs in CPU, on one node with its clients in one process,
 * at a fixed load both systems keep up with. The load is measured at two
 * client counts, so the cost per publish `a` and per delivery `b` of
 * `cpu = a + b × clients` come apart: one figure per delivery would mix
 * them in a proportion set by the count chosen. Unlike the fan-out ramp,
 * this does not depend on where a step lands, so it is the steadier figure
 * of efficiency; the ramp is the one of capacity.
 */
export async function cpuPerDelivery(env: BenchEnv, options: CpuOptions): Promise<Record<SystemKind, CpuResult>> {
  const rounds: Record<SystemKind, CpuRound[]> = { duplex: [], socketio: [] };
  let deliveries = 0;
  for (let i = 0; i < options.rounds; i++) {
    for (const kind of ['duplex', 'socketio'] as const) {
      const measured = await oneRound(kind, env, options);
      rounds[kind].push(measured.round);
      deliveries = measured.deliveries;
    }
  }
  const result = (kind: SystemKind): CpuResult => {
    const sorted = [...rounds[kind]].sort((a, b) => a.serverMicros - b.serverMicros);
    return { ...sorted[Math.floor(sorted.length / 2)], subscribers: options.subscribers, deliveries, rounds: rounds[kind] };
  };
  return { duplex: result('duplex'), socketio: result('socketio') };
}

function oneRound(kind: SystemKind, env: BenchEnv, options: CpuOptions) {
  const [few, many] = options.subscribers;
  return scenario({ kind, nodes: 1, env }, async (cluster) => {
    const [server] = cluster.servers;
    const groups: SubscriberGroup[] = [];
    const join = async (count: number) => groups.push(await cluster.subscribers({ urls: [server.url], count, topic: 'cpu' }));
    await join(few);
    const publisher = await cluster.publisher();
    const small = await measure(server, groups, publisher, few, options);
    await join(many - few);
    const large = await measure(server, groups, publisher, many, options);
    const marginal = (large.serverMicrosPerPublish - small.serverMicrosPerPublish) / (many - few);
    const measured: CpuRound = {
      serverMicros: round(large.serverMicrosPerPublish / many),
      marginalMicros: round(marginal),
      perPublishMicros: round(large.serverMicrosPerPublish - marginal * many),
      clientMicros: round(large.clientMicrosPerPublish / many),
    };
    return { round: measured, deliveries: large.delivered };
  });
}

/** CPU per publish of the server and of all client groups, with `subscribers` clients on the topic. */
async function measure(server: ServerProcess, groups: SubscriberGroup[], publisher: Publisher, subscribers: number, options: CpuOptions) {
  // A warm-up second, so that neither system is measured compiling its hot path.
  await pace(options.rate, 1_000, () => publisher.publish('cpu'));
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all(groups.map((group) => group.reset(false)));
  const clientCpu = () => groups.reduce((sum, group) => sum + cpuMs(group.pid), 0);
  const [server0, client0] = [cpuMs(server.pid), clientCpu()];
  const { sent } = await pace(options.rate, options.durationMs, () => publisher.publish('cpu'));
  const report = await drained(groups, sent * subscribers, 10_000);
  const [server1, client1] = [cpuMs(server.pid), clientCpu()];
  // Per publish made, scaled by the share delivered, so a lagging round is not flattered by its missing deliveries.
  const published = report.delivered / subscribers;
  return {
    delivered: report.delivered,
    serverMicrosPerPublish: ((server1 - server0) * 1000) / published,
    clientMicrosPerPublish: ((client1 - client0) * 1000) / published,
  };
}
