import { fork } from 'node:child_process';
import { join } from 'node:path';
import { connectDuplex, connectSocketIo } from './clients';
import type { FloodReport, FloodRequest } from './flooder';
import { rssKiB } from './processes';
import { pace } from './publisher';
import { relayContract } from './relay/relay.contract';
import { type Latency, now, round, summarize } from './stats';
import { scenario } from './scenario';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SlowConsumerOptions {
  healthy: number;
  stalled: number;
  rate: number;
  payloadBytes: number;
  durationMs: number;
}

export interface SlowConsumerResult {
  /** Resident memory of the server before the load, at its peak during it, and at its end (MiB). */
  baseMiB: number;
  peakMiB: number;
  endMiB: number;
  /** What the stalled clients cost the server at the peak, per stalled client (MiB). */
  perStalledMiB: number;
  /** Delivery latency of the clients that kept reading. */
  healthy: Latency;
  /** Deliveries the healthy clients got of those published to them. */
  healthyDelivered: number;
  healthyExpected: number;
  /** Stalled clients the server cut (this project's metric; Socket.IO has no such limit, so 0 unless its ping timeout fired). */
  cut: number;
}

/**
 * Slow consumers: `stalled` subscribers stop reading while a publisher
 * sends `rate` callbacks a second of `payloadBytes` to their topic, beside
 * `healthy` subscribers who keep reading. One server, so what it holds for
 * the stalled ones shows in its resident memory.
 */
export function slowConsumers(kind: SystemKind, env: BenchEnv, options: SlowConsumerOptions): Promise<SlowConsumerResult> {
  return scenario({ kind, nodes: 1, env, adapter: 'none' }, async (cluster) => {
    const [server] = cluster.servers;
    const topic = 'pressure';
    const healthy = await cluster.subscribers({ urls: [server.url], count: options.healthy, topic });
    if (options.stalled > 0) await cluster.subscribers({ urls: [server.url], count: options.stalled, topic, stall: true });
    const publisher = await cluster.publisher();
    await settle(1_000);
    const baseMiB = rssKiB(server.pid) / 1024;
    let peakMiB = baseMiB;
    const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssKiB(server.pid) / 1024)), 250);
    await healthy.reset(true);
    const { sent } = await pace(options.rate, options.durationMs, () => publisher.publish(topic, options.payloadBytes));
    await settle(2_000);
    clearInterval(sampler);
    const endMiB = rssKiB(server.pid) / 1024;
    const report = await healthy.report(true);
    const metrics = kind === 'duplex' ? await (await fetch(`${server.url}/metrics`)).text() : '';
    const cut = Number(/duplex_connections_closed_total\{cause="slow-consumer"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    return {
      baseMiB: round(baseMiB),
      peakMiB: round(peakMiB),
      endMiB: round(endMiB),
      perStalledMiB: options.stalled > 0 ? round((peakMiB - baseMiB) / options.stalled) : 0,
      healthy: summarize(report.samples),
      healthyDelivered: report.delivered,
      healthyExpected: sent * options.healthy,
      cut,
    };
  });
}

export interface FloodResult {
  /** Another client's round trips during the flood, one every 10 ms. */
  probe: Latency;
  /** The same client's round trips before the flood. */
  quiet: Latency;
  answers: Record<string, number>;
  floodSeconds: number;
}

/** One client fires `count` calls at once; another keeps making one call every 10 ms. */
export function flood(kind: SystemKind, env: BenchEnv, count: number): Promise<FloodResult> {
  return scenario({ kind, nodes: 1, env, adapter: 'none' }, async (cluster) => {
    const [server] = cluster.servers;
    const child = fork(join(__dirname, 'flooder.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const probeOnce = await prober(kind, server.url);
      const probe = async (ms: number) => {
        const samples: number[] = [];
        const until = now() + ms;
        while (now() < until) {
          const started = now();
          await probeOnce();
          samples.push(now() - started);
          await settle(10);
        }
        return samples;
      };
      const quiet = summarize(await probe(2_000));
      const flooded = new Promise<FloodReport>((resolve, reject) => {
        child.once('message', (message: { type: string; report?: FloodReport; message?: string }) =>
          message.report ? resolve(message.report) : reject(new Error(message.message)),
        );
      });
      child.send({ kind, url: server.url, count } satisfies FloodRequest);
      let floodDone = false;
      void flooded.then(() => (floodDone = true), () => (floodDone = true));
      const during: number[] = [];
      while (!floodDone) during.push(...(await probe(250)));
      const report = await flooded;
      return { probe: summarize(during), quiet, answers: report.answers, floodSeconds: report.seconds };
    } finally {
      child.kill('SIGKILL');
    }
  });
}

/** One round trip of a cheap request-reply call. */
async function prober(kind: SystemKind, url: string): Promise<() => Promise<unknown>> {
  if (kind === 'duplex') {
    const relay = (await connectDuplex(url)).service(relayContract);
    return () => relay.join('probe');
  }
  const socket = await connectSocketIo(url);
  return () => socket.timeout(10_000).emitWithAck('join', 'probe');
}
