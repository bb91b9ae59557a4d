import { collect, drained, type SubscriberGroup } from './processes';
import { pace, type Publisher } from './publisher';
import { openRawHop, type RawTransport } from './raw-hop';
import { Latency, summarize } from './stats';
import { scenario } from './scenario';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

export interface LatencyRates {
  light: number;
  heavy: number;
  durationMs: number;
  /**
   * Unmeasured publishing at the heavy rate before the light and heavy runs,
   * for every system alike: the first seconds of a fresh process measure its
   * JIT and heap growth, not its steady state.
   */
  warmupMs: number;
  subscribers: number;
}

export interface LoadLatency extends Latency {
  deliveries: number;
  lost: number;
  /** This project only: the broker hop alone, node A's publish → node B's delivery, from node B's /health. */
  hop?: Latency;
}

/**
 * The heavy run once more, with a raw amqplib hop (raw-hop.ts) publishing at
 * the same rate beside it: both hops measured in the same seconds, on a
 * machine carrying the same load, so their ratio is what this project's code
 * adds, apart from what the scenario's other processes take from the CPU.
 */
export interface HopBesideRaw {
  hop: Latency;
  raw: Latency;
}

export type LatencyResult = Record<'light' | 'heavy', LoadLatency> & { besideRaw?: HopBesideRaw };

/** A client on node A publishes to a topic; subscribers on node B are called back. */
export function crossNodeLatency(kind: SystemKind, env: BenchEnv, rates: LatencyRates): Promise<LatencyResult> {
  return scenario({ kind, nodes: 2, env }, async (cluster) => {
    const [a, b] = cluster.servers;
    const group = await cluster.subscribers({ urls: [b.url], count: rates.subscribers, topic: 'bench' });
    const publisher = await cluster.publisher(a.url);
    const result = await underLoads(group, publisher, rates, async (measured, sent) => {
      if (kind === 'duplex') measured.hop = await deliveryLatency(b.url, sent);
    });
    if (kind === 'duplex') {
      const raw = await openRawHop('amqp', env.amqpUrl, env.prefix);
      try {
        await raw.measure(rates.heavy, 1_000); // its consumer's warm-up, as short as it needs
        await group.reset(false);
        const [ours, beside] = await Promise.all([
          pace(rates.heavy, rates.durationMs, () => publisher.publish('bench')),
          raw.measure(rates.heavy, rates.durationMs),
        ]);
        await drained([group], ours.sent * rates.subscribers);
        result.besideRaw = { hop: await deliveryLatency(b.url, ours.sent), raw: summarize(beside.samples) };
      } finally {
        await raw.close();
      }
    }
    return result;
  });
}

/**
 * A client publishes to a topic whose subscribers are on its own node: no
 * hop is needed, so this is what the system adds to one server's delivery.
 * Socket.IO runs bare (one server, no adapter), the baseline a callback on
 * the caller's own node is held to.
 */
export function sameNodeLatency(kind: SystemKind, env: BenchEnv, rates: LatencyRates): Promise<LatencyResult> {
  return scenario({ kind, nodes: 1, env, adapter: 'none' }, async (cluster) => {
    const group = await cluster.subscribers({ urls: cluster.urls, count: rates.subscribers, topic: 'bench' });
    return underLoads(group, await cluster.publisher(), rates);
  });
}

/** The warm-up, then the light and the heavy run: latency of every delivery, and how many never came. */
async function underLoads(
  group: SubscriberGroup,
  publisher: Publisher,
  rates: LatencyRates,
  after?: (measured: LoadLatency, sent: number) => Promise<void>,
): Promise<LatencyResult> {
  await group.reset(false);
  const warmup = await pace(rates.heavy, rates.warmupMs, () => publisher.publish('bench'));
  await drained([group], warmup.sent * rates.subscribers);
  const result = {} as LatencyResult;
  for (const load of ['light', 'heavy'] as const) {
    await group.reset(true);
    const { sent } = await pace(rates[load], rates.durationMs, () => publisher.publish('bench'));
    const expected = sent * rates.subscribers;
    await drained([group], expected);
    const { samples } = await collect([group], true);
    result[load] = { ...summarize(samples), deliveries: samples.length, lost: expected - samples.length };
    await after?.(result[load], sent);
  }
  return result;
}

/** A raw hop of one transport (see raw-hop.ts), after the same warm-up as the systems get. */
export async function rawLatency(transport: RawTransport, env: BenchEnv, rates: LatencyRates): Promise<LatencyResult> {
  const hop = await openRawHop(transport, transport === 'amqp' ? env.amqpUrl : env.redisUrl, env.prefix);
  try {
    await hop.measure(rates.heavy, rates.warmupMs);
    const result = {} as LatencyResult;
    for (const load of ['light', 'heavy'] as const) {
      const { sent, samples } = await hop.measure(rates[load], rates.durationMs);
      result[load] = { ...summarize(samples), deliveries: samples.length, lost: sent - samples.length };
    }
    return result;
  } finally {
    await hop.close();
  }
}

/** The node's bus delivery latency over the last `messages` it received (at most the 2,048 it holds). */
async function deliveryLatency(url: string, messages: number): Promise<Latency> {
  const health = (await (await fetch(`${url}/health?recent=${messages}`)).json()) as { bus: { latency: { delivery: Latency } } };
  const { p50, p99, max } = health.bus.latency.delivery;
  return { p50, p99, max };
}
