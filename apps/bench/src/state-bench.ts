/**
 * npm run bench:state — replicated-store operations through the RabbitMQ
 * stream, beside a raw amqplib publish → confirm → consume on a stream of the
 * same broker, in the same run, with the same payload size and concurrency.
 * Prints both and their ratio; writes .bench/state.json.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { removeTopology } from '@nest-duplex/server/internal';
import { AmqpStreamLog } from '@nest-duplex/server/internal';
import { ReplicatedStore } from '@nest-duplex/server/internal';
import { Latency, round, sequential, throughput } from './stats';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const LATENCY_OPS = Number(process.env.BENCH_LATENCY_OPS ?? 2_000);
const THROUGHPUT_OPS = Number(process.env.BENCH_THROUGHPUT_OPS ?? 20_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 100);

interface Result {
  opsPerSecond: number;
  latency: Latency;
}

async function benchStore(prefix: string): Promise<Result> {
  const store = new ReplicatedStore(new AmqpStreamLog({ urls: [url], nodeId: 'bench', prefix, snapshotEvery: 10_000 }));
  await store.start();
  try {
    const latency = await sequential(LATENCY_OPS, (i) => store.increment('counter', 1, { min: 0 }).then(() => i));
    const opsPerSecond = await throughput(THROUGHPUT_OPS, WINDOW, (i) => store.mapSet('map', `f${i % 100}`, i));
    return { opsPerSecond, latency };
  } finally {
    await store.close();
  }
}

/** The floor under every store operation: one confirmed publish to a stream and its delivery back. */
async function benchRaw(prefix: string): Promise<Result> {
  // The best raw client: Nagle off, as the store's connection has it.
  const connection = await amqp.connect(url, { noDelay: true });
  const stream = `${prefix}.raw`;
  try {
    const publisher = await connection.createConfirmChannel();
    await publisher.assertQueue(stream, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const consumer = await connection.createChannel();
    await consumer.prefetch(1_000);
    const waiting = new Map<string, () => void>();
    await consumer.consume(
      stream,
      (message) => {
        if (!message) return;
        waiting.get(message.properties.messageId)?.();
        waiting.delete(message.properties.messageId);
        consumer.ack(message);
      },
      { noAck: false, arguments: { 'x-stream-offset': 'next' } },
    );
    // The same bytes a store entry carries.
    const payload = (i: number) => Buffer.from(JSON.stringify({ id: `0f8c9e2a-6b1d-4f57-9a43-2d8e5b7c1a90:${i}`, command: { op: 'mapSet', key: 'map', field: `f${i % 100}`, value: i } }));
    let id = 0;
    const roundTrip = () => {
      const messageId = String(++id);
      return new Promise<void>((resolve, reject) => {
        waiting.set(messageId, resolve);
        publisher.sendToQueue(stream, payload(id), { persistent: true, messageId }, (error) => error && reject(error));
      });
    };
    const latency = await sequential(LATENCY_OPS, roundTrip);
    const opsPerSecond = await throughput(THROUGHPUT_OPS, WINDOW, roundTrip);
    return { opsPerSecond, latency };
  } finally {
    // A channel of its own: a failed run may have closed the others.
    await connection.createChannel().then((channel) => channel.deleteQueue(stream)).catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const prefix = `bench-${Date.now().toString(36)}`;
  console.log(`state benchmark on ${url.replace(/\/\/[^@]*@/, '//***@')}: ${LATENCY_OPS} sequential ops, then ${THROUGHPUT_OPS} ops with ${WINDOW} in flight`);
  try {
    // Raw first and store second, then both again: the ratio uses the better of each, so a noisy moment
    // on this shared machine does not decide it.
    const runs: Array<{ raw: Result; store: Result }> = [];
    for (let round = 0; round < 2; round++) runs.push({ raw: await benchRaw(prefix), store: await benchStore(`${prefix}.${round}`) });
    const best = (results: Result[]): Result => ({
      opsPerSecond: Math.max(...results.map((r) => r.opsPerSecond)),
      latency: results.map((r) => r.latency).reduce(bestLatency),
    });
    const raw = best(runs.map((r) => r.raw));
    const store = best(runs.map((r) => r.store));
    const table = [
      ['', 'ops/s', 'p50 ms', 'p99 ms', 'max ms'],
      ['replicated store (stream)', store.opsPerSecond, store.latency.p50, store.latency.p99, store.latency.max],
      ['raw amqplib stream round trip', raw.opsPerSecond, raw.latency.p50, raw.latency.p99, raw.latency.max],
      ['store / raw', ratio(store.opsPerSecond, raw.opsPerSecond), ratio(store.latency.p50, raw.latency.p50), ratio(store.latency.p99, raw.latency.p99), ratio(store.latency.max, raw.latency.max)],
    ];
    for (const row of table) console.log(row.map((cell, i) => String(cell).padStart(i === 0 ? 0 : 10).padEnd(i === 0 ? 32 : 0)).join(''));
    mkdirSync('.bench', { recursive: true });
    const report = { command: 'npm run bench:state', date: new Date().toISOString(), latencyOps: LATENCY_OPS, throughputOps: THROUGHPUT_OPS, window: WINDOW, store, raw, runs };
    writeFileSync('.bench/state.json', JSON.stringify(report, null, 2));
    console.log('written: .bench/state.json');
  } finally {
    // Each store run leaves a stream and a snapshot queue; the raw runs delete their own stream.
    await Promise.all([`${prefix}.0`, `${prefix}.1`].map((store) => removeTopology(url, store, []))).catch(() => undefined);
  }
}

const ratio = (a: number, b: number) => round(a / b);
const bestLatency = (a: Latency, b: Latency): Latency => (a.p50 <= b.p50 ? a : b);

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
