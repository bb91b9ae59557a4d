/**
 * npm run bench:pressure — a node under misbehaving clients, beside a bare
 * Socket.IO server in the same run: slow consumers (clients that stop
 * reading while callbacks flow) and a flood (one client firing 100,000 calls
 * at once). Writes .bench/pressure.json; docs/benchmarks.md reports it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { REAPER_QUEUE, removeTopology } from '@nest-duplex/server/internal';
import { flood, slowConsumers, type SlowConsumerOptions } from './pressure';
import { stopAll } from './processes';
import { runBench } from './run-bench';
import type { BenchEnv } from './systems';
import { type Row, table } from './table';

const env: BenchEnv = {
  amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: `pressure-${Date.now().toString(36)}`,
};
const SLOW: SlowConsumerOptions = { healthy: 10, stalled: 10, rate: 1_000, payloadBytes: 2_048, durationMs: 25_000 };
const FLOOD_CALLS = 100_000;

async function main(): Promise<void> {
  const started = Date.now();
  try {
    console.log(`· slow consumers: ${SLOW.stalled} stalled and ${SLOW.healthy} reading, ${SLOW.rate} callbacks/s of ${SLOW.payloadBytes} bytes for ${SLOW.durationMs / 1000} s`);
    const slow = { duplex: await slowConsumers('duplex', env, SLOW), socketio: await slowConsumers('socketio', env, SLOW) };
    // The same load with nobody stalled: what the stalled clients cost is the difference.
    const calm = { stalled: 0, healthy: SLOW.healthy + SLOW.stalled };
    const reading = { duplex: await slowConsumers('duplex', env, { ...SLOW, ...calm }), socketio: await slowConsumers('socketio', env, { ...SLOW, ...calm }) };
    const stalledCost = (kind: 'duplex' | 'socketio') => round((slow[kind].peakMiB - reading[kind].peakMiB) / SLOW.stalled);
    console.log(`· flood: one client fires ${FLOOD_CALLS} calls at once; another calls every 10 ms`);
    // The limits as a node ships them: the relay lifts the call rate limit unless told.
    process.env.DUPLEX_CALLS_PER_SECOND = '500';
    const floods = { duplex: await flood('duplex', env, FLOOD_CALLS), socketio: await flood('socketio', env, FLOOD_CALLS) };
    const summary: Row[] = [
      { figure: `slow consumers: server memory gained at peak, MiB (${SLOW.stalled} stalled)`, duplex: round(slow.duplex.peakMiB - slow.duplex.baseMiB), socketio: round(slow.socketio.peakMiB - slow.socketio.baseMiB), better: 'lower' },
      { figure: `the same load, all ${calm.healthy} reading: server memory gained at peak, MiB`, duplex: round(reading.duplex.peakMiB - reading.duplex.baseMiB), socketio: round(reading.socketio.peakMiB - reading.socketio.baseMiB), better: 'lower' },
      { figure: 'slow consumers: peak memory per stalled client, beyond the same load all reading, MiB', duplex: stalledCost('duplex'), socketio: stalledCost('socketio'), better: 'lower' },
      { figure: 'slow consumers: reading clients, delivery p99, ms', duplex: slow.duplex.healthy.p99, socketio: slow.socketio.healthy.p99, better: 'lower' },
      { figure: 'slow consumers: stalled clients cut by the server', duplex: slow.duplex.cut, socketio: slow.socketio.cut, better: 'higher' },
      { figure: 'flood: another client, round trip p99 before, ms', duplex: floods.duplex.quiet.p99, socketio: floods.socketio.quiet.p99, better: 'lower' },
      { figure: 'flood: another client, round trip p99 during, ms', duplex: floods.duplex.probe.p99, socketio: floods.socketio.probe.p99, better: 'lower' },
      { figure: 'flood: another client, round trip max during, ms', duplex: floods.duplex.probe.max, socketio: floods.socketio.probe.max, better: 'lower' },
      { figure: 'flood: seconds until every call was answered', duplex: floods.duplex.floodSeconds, socketio: floods.socketio.floodSeconds, better: 'lower' },
    ];
    console.log(`\n${table(summary)}\n`);
    console.log('flood answers:', JSON.stringify({ duplex: floods.duplex.answers, socketio: floods.socketio.answers }));
    mkdirSync('.bench', { recursive: true });
    const report = {
      command: 'npm run bench:pressure',
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      machine: { cpus: cpus().length, node: process.version },
      settings: { slow: SLOW, floodCalls: FLOOD_CALLS },
      summary,
      results: { slow, reading, flood: floods },
    };
    writeFileSync('.bench/pressure.json', JSON.stringify(report, null, 2));
    console.log(`written: .bench/pressure.json (${report.seconds} s)`);
  } finally {
    stopAll();
    await removeTopology(env.amqpUrl, env.prefix, [REAPER_QUEUE]).catch((error: Error) => console.error(`could not remove ${env.prefix}.*: ${error.message}`));
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

runBench(main);
