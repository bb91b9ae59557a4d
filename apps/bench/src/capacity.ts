/**
 * npm run bench:capacity — the broker-side costs that docs/capacity.md
 * extrapolates from, measured on this machine:
 *   1. binding churn: binds and unbinds a second on one channel (as a node
 *      makes them, one RPC at a time) and on four at once;
 *   2. the state stream: confirmed appends a second, and reads back, on the
 *      broker at AMQP_URL and on a 3-broker cluster of private brokers with
 *      three replicas (BENCH_CLUSTER=0 skips the cluster);
 *   3. presence: messages and bytes on `broadcast` per session that
 *      connects and subscribes, per session that ends, and per idle node a
 *      second, from one node with 1,000 sessions.
 * Prints a table and writes .bench/capacity.json.
 */
import * as amqp from 'amqplib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { removeTopology } from '@nest-duplex/server/internal';
import { BrokerCluster } from '../../../test/support/broker-cluster';
import { stopAll } from './processes';
import { scenario } from './scenario';
import { round, now, throughput } from './stats';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const BINDINGS = Number(process.env.BENCH_BINDINGS ?? 2_000);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 20_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1_000);
/** About the size of a replicated-store entry (an id, an op, a key and a small value, as JSON). */
const ENTRY = Buffer.from(JSON.stringify({ id: `${'x'.repeat(36)}:12345`, command: { op: 'mapSet', key: 'seats:show-1', field: 'A1', value: 'session-0123456789abcdef' } }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bindingChurn(prefix: string): Promise<Record<string, number>> {
  const connection = await amqp.connect(url);
  try {
    const setup = await connection.createChannel();
    const exchange = `${prefix}.bindings`;
    await setup.assertExchange(exchange, 'topic', { durable: false });
    /** `channels` channels, each with a queue to bind, and a key's bind or unbind on the channel it falls to. */
    const open = async (channels: number) => {
      const opened = await Promise.all(Array.from({ length: channels }, () => connection.createChannel()));
      const queues = await Promise.all(opened.map((channel, i) => channel.assertQueue(`${prefix}.bindings.${channels}.${i}`, { exclusive: true }).then((q) => q.queue)));
      const on = (op: 'bindQueue' | 'unbindQueue') => (key: number) => opened[key % channels][op](queues[key % channels], exchange, `topic.t${key}`);
      return { opened, bind: on('bindQueue'), unbind: on('unbindQueue') };
    };
    const result: Record<string, number> = {};
    for (const channels of [1, 4]) {
      const { opened, bind, unbind } = await open(channels);
      for (const [name, op] of [['binds', bind], ['unbinds', unbind]] as const) {
        const started = now();
        await throughput(BINDINGS, channels, op);
        result[`${name}PerSecond_${channels}ch`] = round((BINDINGS / (now() - started)) * 1000);
      }
      for (const channel of opened) await channel.close();
    }
    await setup.deleteExchange(exchange);
    return result;
  } finally {
    await connection.close();
  }
}

/** Confirmed appends to a stream with `replicas` members, 500 in flight, then the whole stream read back. */
async function streamThroughput(brokerUrl: string, stream: string, replicas: number): Promise<{ appendsPerSecond: number; readsPerSecond: number }> {
  const connection = await amqp.connect(brokerUrl);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(stream, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-initial-cluster-size': replicas } });
    const appendsPerSecond = await throughput(APPENDS, 500, () => new Promise<void>((resolve, reject) => channel.sendToQueue(stream, ENTRY, { persistent: true }, (error) => (error ? reject(error) : resolve()))));
    const reader = await connection.createChannel();
    await reader.prefetch(1_000);
    let read = 0;
    const started = now();
    await new Promise<void>((resolve) => {
      void reader.consume(stream, (message) => {
        if (!message) return;
        reader.ack(message);
        if (++read === APPENDS) resolve();
      }, { arguments: { 'x-stream-offset': 'first' } });
    });
    const readsPerSecond = round((APPENDS / (now() - started)) * 1000);
    await channel.deleteQueue(stream);
    return { appendsPerSecond, readsPerSecond };
  } finally {
    await connection.close();
  }
}

/** Counts what a node broadcasts (presence and heartbeats), by message type. */
async function listenToBroadcast(prefix: string) {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const exchange = `${prefix}.callbacks`;
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, 'broadcast');
  let totals = { messages: 0, bytes: 0 };
  await channel.consume(queue, (message) => {
    if (!message) return;
    totals.messages++;
    totals.bytes += message.content.length;
  }, { noAck: true });
  return {
    /** What arrived since the last call. */
    take: () => {
      const taken = totals;
      totals = { messages: 0, bytes: 0 };
      return taken;
    },
    close: () => connection.close(),
  };
}

async function presence(prefix: string) {
  const env = { amqpUrl: url, redisUrl: '', prefix };
  return scenario({ kind: 'duplex', nodes: 1, env }, async (cluster) => {
    const broadcast = await listenToBroadcast(prefix);
    try {
      const IDLE_MS = 5_000;
      await sleep(2_000);
      broadcast.take();
      await sleep(IDLE_MS);
      const idleEmpty = broadcast.take();
      const topics = Array.from({ length: 20 }, (_, i) => `show-${i}`);
      const group = await cluster.subscribers({ urls: cluster.urls, count: SESSIONS, topics });
      await sleep(1_000);
      const joined = broadcast.take();
      await sleep(IDLE_MS);
      const idleFull = broadcast.take();
      await group.stop();
      // Past the session grace (5 s): the sessions end, and their ends are announced.
      await sleep(7_000);
      const ended = broadcast.take();
      const perSecond = (t: { messages: number; bytes: number }) => ({ messages: round(t.messages / (IDLE_MS / 1000)), bytes: round(t.bytes / (IDLE_MS / 1000)) });
      return {
        sessions: SESSIONS,
        idleNodePerSecond: perSecond(idleEmpty),
        idleNodeWithSessionsPerSecond: perSecond(idleFull),
        perSessionJoined: { messages: round(joined.messages / SESSIONS), bytes: round(joined.bytes / SESSIONS) },
        perSessionEnded: { messages: round(ended.messages / SESSIONS), bytes: round(ended.bytes / SESSIONS) },
      };
    } finally {
      await broadcast.close();
    }
  });
}

async function main(): Promise<void> {
  const prefix = `capacity-${Date.now().toString(36)}`;
  const results: Record<string, unknown> = { at: new Date().toISOString(), appends: APPENDS, entryBytes: ENTRY.length, bindings: BINDINGS };
  try {
    results.bindings = await bindingChurn(prefix);
    console.log('binding churn', results.bindings);
    results.streamLocal = await streamThroughput(url, `${prefix}.stream`, 1);
    console.log('stream, one broker', results.streamLocal);
    if (process.env.BENCH_CLUSTER !== '0') {
      const cluster = await BrokerCluster.start(3);
      try {
        results.streamCluster = await streamThroughput(cluster.brokers[0].url, `${prefix}.stream3`, 3);
        console.log('stream, 3 brokers, 3 replicas', results.streamCluster);
      } finally {
        await cluster.destroy();
      }
    }
    results.presence = await presence(prefix);
    console.log('presence', JSON.stringify(results.presence, null, 2));
  } finally {
    stopAll();
    await removeTopology(url, prefix, []).catch(() => undefined);
  }
  mkdirSync('.bench', { recursive: true });
  writeFileSync('.bench/capacity.json', JSON.stringify(results, null, 2));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    stopAll();
    process.exit(1);
  },
);
