/**
 * npm run bench — this project beside raw amqplib and Socket.IO with the
 * Redis adapter, on this machine, in one run: cross-node callback latency,
 * fan-out throughput, memory per idle connection, and scaling over nodes.
 * Every server and client group is a process of its own on loopback; all are
 * stopped before it exits. Writes .bench/bench.json and .bench/bench.svg.
 */
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { REAPER_QUEUE, removeTopology } from '@nest-duplex/server/internal';
import { renderChart } from './chart';
import { connectionRate, type ConnectionOptions, type ConnectionResult } from './connections';
import { interestRouting, type InterestOptions, type InterestResult } from './interest';
import type { ConnectorReport } from './connector';
import { cpuPerDelivery, CpuOptions, CpuResult } from './cpu';
import { fanoutRamp, FanoutResult, RampOptions } from './fanout';
import { crossNodeLatency, LatencyRates, LatencyResult, rawLatency, sameNodeLatency } from './latency';
import { memoryPerConnection, MemoryResult } from './memory';
import { stopAll } from './processes';
import { runBench } from './run-bench';
import { PAYLOAD_BYTES } from './publisher';
import { round } from './stats';
import type { BenchEnv } from './systems';
import { Row, table } from './table';

const env: BenchEnv = {
  amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: `bench-${Date.now().toString(36)}`,
};
const RATES: LatencyRates = { light: 50, heavy: 1_000, durationMs: 3_000, warmupMs: 3_000, subscribers: 10 };
const RAMP: RampOptions = { subscribers: 1_000, groups: 2, startRate: 5, factor: 1.5, stepMs: 2_000, maxSteps: 12, tailMs: 500 };
const IDLE_CONNECTIONS = 2_000;
const CPU: CpuOptions = { subscribers: [60, 600], rate: 100, durationMs: 4_000, rounds: 3 };
const CONNECTIONS: ConnectionOptions = { clients: 2_000, concurrency: 50, topics: 20 };
const INTEREST: InterestOptions = { nodes: 6, topicsPerNode: 100, rate: 1_000, durationMs: 4_000 };

interface Results {
  latency: { duplex: LatencyResult; amqp: LatencyResult; socketio: LatencyResult; redis: LatencyResult };
  fanout: { duplex: FanoutResult; socketio: FanoutResult };
  cpu: { duplex: CpuResult; socketio: CpuResult };
  memory: { duplex: MemoryResult; socketio: MemoryResult };
  scaling: FanoutResult[];
  connections: { duplex: ConnectionResult; socketio: ConnectionResult };
  sameNode: { duplex: LatencyResult; socketio: LatencyResult };
  interest: { duplex: InterestResult; socketio: InterestResult; sharded: InterestResult };
}

async function reachable(): Promise<void> {
  const connection = await amqp.connect(env.amqpUrl).catch((error: Error) => {
    throw new Error(`RabbitMQ at AMQP_URL is unreachable (${error.message}); start one (rabbitmq-server -detached) or set AMQP_URL`);
  });
  await connection.close();
  const redis = new Redis(env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await redis.connect().catch((error: Error) => {
    throw new Error(`Redis at REDIS_URL is unreachable (${error.message}); start redis-server or set REDIS_URL`);
  });
  redis.disconnect();
}

function step(name: string): void {
  console.log(`· ${name}`);
}

async function run(): Promise<Results> {
  step(`cross-node latency, ${RATES.subscribers} subscribers, ${RATES.light} and ${RATES.heavy} publishes/s for ${RATES.durationMs / 1000} s each after ${RATES.warmupMs / 1000} s of warm-up`);
  const latency = {
    duplex: await crossNodeLatency('duplex', env, RATES),
    amqp: await rawLatency('amqp', env, RATES),
    socketio: await crossNodeLatency('socketio', env, RATES),
    redis: await rawLatency('redis', env, RATES),
  };
  step(`fan-out: ${RAMP.subscribers} clients over 3 nodes, publish rate ×${RAMP.factor} every ${RAMP.stepMs / 1000} s until delivery falls behind`);
  const fanout = {
    duplex: await fanoutRamp('duplex', env, 3, RAMP),
    socketio: await fanoutRamp('socketio', env, 3, RAMP),
  };
  step(`CPU per delivery: ${CPU.subscribers.join(' then ')} clients on one node, ${CPU.rate} publishes/s, ${CPU.rounds} alternating rounds`);
  const cpu = await cpuPerDelivery(env, CPU);
  step(`memory: ${IDLE_CONNECTIONS} idle connections`);
  const memory = {
    duplex: await memoryPerConnection('duplex', env, IDLE_CONNECTIONS),
    socketio: await memoryPerConnection('socketio', env, IDLE_CONNECTIONS),
  };
  step('scaling: the fan-out ramp on 1 and 2 nodes (3 from above)');
  const scaling = [await fanoutRamp('duplex', env, 1, RAMP), await fanoutRamp('duplex', env, 2, RAMP), fanout.duplex];
  step(`connections: ${CONNECTIONS.clients} clients, ${CONNECTIONS.concurrency} at a time, each joining one of ${CONNECTIONS.topics} topics on one node, then resuming on another`);
  const connections = {
    duplex: await connectionRate('duplex', env, CONNECTIONS),
    socketio: await connectionRate('socketio', env, CONNECTIONS),
  };
  step(`same-node latency: publisher and ${RATES.subscribers} subscribers on one node; Socket.IO bare (no adapter)`);
  const sameNode = {
    duplex: await sameNodeLatency('duplex', env, RATES),
    socketio: await sameNodeLatency('socketio', env, RATES),
  };
  const { nodes, topicsPerNode, rate } = INTEREST;
  step(`interest routing: ${nodes} nodes × ${topicsPerNode} topics, one subscriber each on its topic's node, ${rate} publishes/s to random topics`);
  const interest = {
    duplex: await interestRouting('duplex', env, INTEREST),
    socketio: await interestRouting('socketio', env, INTEREST),
    sharded: await interestRouting('socketio', env, INTEREST, 'sharded'),
  };
  return { latency, fanout, cpu, memory, scaling, connections, sameNode, interest };
}

function rows(results: Results): Row[] {
  const { latency, fanout, cpu, memory, scaling, connections, sameNode, interest } = results;
  const sameNodeRows = (['light', 'heavy'] as const).flatMap((load) =>
    (['p50', 'p99'] as const).map(
      (q): Row => ({ figure: `same-node latency ${load} (${RATES[load]}/s) ${q}, ms (Socket.IO: bare)`, duplex: sameNode.duplex[load][q], socketio: sameNode.socketio[load][q], better: 'lower' }),
    ),
  );
  const latencyRows = (['light', 'heavy'] as const).flatMap((load) =>
    (['p50', 'p99', 'max'] as const).map(
      (q): Row => ({
        figure: `latency ${load} (${RATES[load]}/s) ${q}, ms`,
        duplex: latency.duplex[load][q],
        amqp: latency.amqp[load][q],
        socketio: latency.socketio[load][q],
        better: 'lower',
      }),
    ),
  );
  const hopRows = (['light', 'heavy'] as const).flatMap((load) =>
    (['p50', 'p99'] as const).map(
      (q): Row => ({
        figure: `broker hop only, ${load}, ${q}, ms (Socket.IO column: raw Redis pub/sub)`,
        duplex: latency.duplex[load].hop?.[q] ?? NaN,
        amqp: latency.amqp[load][q],
        socketio: latency.redis[load][q],
        better: 'lower',
      }),
    ),
  );
  const besideRows = (['p50', 'p99'] as const).map(
    (q): Row => ({
      figure: `broker hop, heavy, beside a raw amqplib hop at the same time, ${q}, ms`,
      duplex: latency.duplex.besideRaw?.hop[q] ?? NaN,
      amqp: latency.duplex.besideRaw?.raw[q] ?? NaN,
      better: 'lower',
    }),
  );
  return [
    ...latencyRows,
    ...hopRows,
    ...besideRows,
    { figure: `fan-out, ${fanout.duplex.subscribers} clients / 3 nodes, deliveries/s`, duplex: fanout.duplex.sustainedPerSecond, socketio: fanout.socketio.sustainedPerSecond, better: 'higher' },
    { figure: `CPU per delivery, server, ${CPU.subscribers[1]} clients, µs`, duplex: cpu.duplex.serverMicros, socketio: cpu.socketio.serverMicros, better: 'lower' },
    { figure: 'CPU per further client, server, µs per delivery', duplex: cpu.duplex.marginalMicros, socketio: cpu.socketio.marginalMicros, better: 'lower' },
    { figure: 'CPU per publish besides its deliveries, server, µs', duplex: cpu.duplex.perPublishMicros, socketio: cpu.socketio.perPublishMicros, better: 'lower' },
    { figure: 'CPU per delivery, clients, µs', duplex: cpu.duplex.clientMicros, socketio: cpu.socketio.clientMicros, better: 'lower' },
    { figure: 'memory per idle connection, resident, KiB', duplex: memory.duplex.perConnectionKiB, socketio: memory.socketio.perConnectionKiB, better: 'lower' },
    { figure: 'memory per idle connection, live after a full GC, KiB', duplex: memory.duplex.livePerConnectionKiB, socketio: memory.socketio.livePerConnectionKiB, better: 'lower' },
    ...scaling.map((result): Row => ({ figure: `scaling: ${result.nodes} node${result.nodes > 1 ? 's' : ''}, deliveries/s`, duplex: result.sustainedPerSecond, better: 'higher' })),
    { figure: `connections/s, ${CONNECTIONS.clients} clients, connect + join`, duplex: connections.duplex.connectPerSecond, socketio: connections.socketio.connectPerSecond, better: 'higher' },
    { figure: 'resume storm on another node, clients/s (Socket.IO: reconnect + join)', duplex: connections.duplex.resumePerSecond, socketio: connections.socketio.resumePerSecond, better: 'higher' },
    { figure: 'server CPU per handshake (connect or resume), µs', duplex: connections.duplex.serverMicros, socketio: connections.socketio.serverMicros, better: 'lower' },
    ...sameNodeRows,
    {
      figure: `interest routing, ${INTEREST.nodes} nodes × ${INTEREST.topicsPerNode} topics: CPU per delivery on a node that does not publish, µs`,
      duplex: interest.duplex.receivingMicros,
      socketio: interest.socketio.receivingMicros,
      better: 'lower',
    },
    {
      figure: `interest routing, as above, against Socket.IO's sharded Redis adapter, µs`,
      duplex: interest.duplex.receivingMicros,
      socketio: interest.sharded.receivingMicros,
      better: 'lower',
    },
  ];
}

function chart(results: Results): string {
  const { latency, fanout, cpu, memory, scaling } = results;
  const latencyPanel = (load: 'light' | 'heavy') => ({
    title: `Cross-node callback latency, ${load} (${RATES[load]} publishes/s × ${RATES.subscribers} subscribers)`,
    unit: 'ms, lower is better',
    bars: (['p50', 'p99'] as const).flatMap((q) => [
      { label: `nest-duplex ${q}`, value: latency.duplex[load][q], series: 'duplex' as const },
      { label: `raw amqplib ${q}`, value: latency.amqp[load][q], series: 'amqp' as const },
      { label: `Socket.IO + Redis ${q}`, value: latency.socketio[load][q], series: 'socketio' as const },
    ]),
  });
  const hopPanel = {
    title: 'Broker hop alone: nest-duplex (A → B), raw amqplib, raw Redis pub/sub',
    unit: 'ms p50, lower is better',
    bars: (['light', 'heavy'] as const).flatMap((load) => [
      { label: `nest-duplex hop, ${load}`, value: latency.duplex[load].hop?.p50 ?? 0, series: 'duplex' as const },
      { label: `raw amqplib, ${load}`, value: latency.amqp[load].p50, series: 'amqp' as const },
      { label: `raw Redis pub/sub, ${load}`, value: latency.redis[load].p50, series: 'socketio' as const },
    ]),
  };
  const beside = latency.duplex.besideRaw;
  const besidePanel = {
    title: `Broker hop during a heavy run, beside a raw amqplib hop publishing at the same time`,
    unit: 'ms, lower is better',
    bars: (['p50', 'p99'] as const).flatMap((q) => [
      { label: `nest-duplex hop ${q}`, value: beside?.hop[q] ?? 0, series: 'duplex' as const },
      { label: `raw amqplib beside it ${q}`, value: beside?.raw[q] ?? 0, series: 'amqp' as const },
    ]),
  };
  return renderChart(`nest-duplex benchmarks, ${new Date().toISOString().slice(0, 10)}`, [
    latencyPanel('light'),
    latencyPanel('heavy'),
    hopPanel,
    besidePanel,
    {
      title: `Fan-out, ${fanout.duplex.subscribers} clients over 3 nodes`,
      unit: 'deliveries/s sustained, higher is better',
      bars: [
        { label: 'nest-duplex', value: fanout.duplex.sustainedPerSecond, series: 'duplex' },
        { label: 'Socket.IO + Redis', value: fanout.socketio.sustainedPerSecond, series: 'socketio' },
      ],
    },
    {
      title: `CPU per delivered callback (${CPU.subscribers[1]} clients on one node, ${CPU.rate} publishes/s)`,
      unit: 'µs of CPU, lower is better',
      bars: [
        { label: 'nest-duplex node', value: cpu.duplex.serverMicros, series: 'duplex' },
        { label: 'Socket.IO server', value: cpu.socketio.serverMicros, series: 'socketio' },
        { label: 'nest-duplex node, per further client', value: cpu.duplex.marginalMicros, series: 'duplex' },
        { label: 'Socket.IO server, per further client', value: cpu.socketio.marginalMicros, series: 'socketio' },
        { label: 'nest-duplex clients', value: cpu.duplex.clientMicros, series: 'duplex' },
        { label: 'Socket.IO clients', value: cpu.socketio.clientMicros, series: 'socketio' },
      ],
    },
    {
      title: 'Memory per idle connection',
      unit: 'KiB, lower is better',
      bars: [
        { label: 'nest-duplex node, resident', value: memory.duplex.perConnectionKiB, series: 'duplex' },
        { label: 'bare Socket.IO server, resident', value: memory.socketio.perConnectionKiB, series: 'socketio' },
        { label: 'nest-duplex node, live after GC', value: memory.duplex.livePerConnectionKiB, series: 'duplex' },
        { label: 'bare Socket.IO server, live after GC', value: memory.socketio.livePerConnectionKiB, series: 'socketio' },
      ],
    },
    {
      title: 'Scaling: the fan-out ramp over more nodes',
      unit: 'deliveries/s sustained',
      bars: scaling.map((result) => ({ label: `nest-duplex, ${result.nodes} node${result.nodes > 1 ? 's' : ''}`, value: result.sustainedPerSecond, series: 'duplex' as const })),
    },
  ]);
}

async function main(): Promise<void> {
  await reachable();
  console.log(`bench on ${process.env.AMQP_URL ? 'AMQP_URL' : 'the local RabbitMQ'} and ${process.env.REDIS_URL ? 'REDIS_URL' : 'the local Redis'}, payload ${PAYLOAD_BYTES} bytes`);
  const started = Date.now();
  try {
    const results = await run();
    const summary = rows(results);
    console.log(`\n${table(summary)}\n`);
    mkdirSync('.bench', { recursive: true });
    const report = {
      command: 'npm run bench',
      date: new Date().toISOString(),
      seconds: round((Date.now() - started) / 1000),
      machine: { cpus: cpus().length, node: process.version },
      settings: { payloadBytes: PAYLOAD_BYTES, latency: RATES, ramp: RAMP, cpu: CPU, idleConnections: IDLE_CONNECTIONS, connections: CONNECTIONS, interest: INTEREST },
      summary,
      results,
    };
    writeFileSync('.bench/bench.json', JSON.stringify(report, null, 2));
    writeFileSync('.bench/bench.svg', chart(results));
    console.log(`written: .bench/bench.json, .bench/bench.svg (${report.seconds} s)`);
  } finally {
    stopAll();
    await removeTopology(env.amqpUrl, env.prefix, [REAPER_QUEUE]).catch((error: Error) => console.error(`could not remove ${env.prefix}.*: ${error.message}`));
  }
}

runBench(main);
