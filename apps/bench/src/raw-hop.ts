/**
 * The floors under every cross-node hop, measured in the benchmark process
 * with each library's own client and nothing else: a raw amqplib hop (what
 * this project's bus does) and a raw Redis pub/sub hop (what the Socket.IO
 * Redis adapter does). Each answers how many it sent and every delivery's
 * latency (ms).
 */
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { pace, payload } from './publisher';
import { now } from './stats';

export interface RawHop {
  sent: number;
  samples: number[];
}

/** Publishes at `rate` for `durationMs` and waits (at most 5 s) until every message arrived in `samples`. */
async function timedDeliveries(rate: number, durationMs: number, publish: (content: string) => void, samples: number[]): Promise<RawHop> {
  const { sent } = await pace(rate, durationMs, () => publish(payload()));
  const deadline = now() + 5_000;
  while (samples.length < sent && now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { sent, samples };
}

const latencyOf = (content: string) => now() - parseFloat(content);

/** A confirmed publish to a topic exchange on one connection, consumed (no-ack, as the bus does) from a bound queue on another. */
export async function rawAmqpLatency(url: string, prefix: string, rate: number, durationMs: number): Promise<RawHop> {
  const producer = await amqp.connect(url, { noDelay: true });
  const consumer = await amqp.connect(url, { noDelay: true });
  const exchange = `${prefix}.raw`;
  try {
    const publish = await producer.createConfirmChannel();
    await publish.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
    const consume = await consumer.createChannel();
    const { queue } = await consume.assertQueue('', { exclusive: true, autoDelete: true });
    await consume.bindQueue(queue, exchange, 'topic.bench');
    const samples: number[] = [];
    await consume.consume(queue, (message) => message && samples.push(latencyOf(message.content.toString())), { noAck: true });
    return await timedDeliveries(rate, durationMs, (content) => publish.publish(exchange, 'topic.bench', Buffer.from(content), {}, () => undefined), samples);
  } finally {
    await producer.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
}

/** PUBLISH on one connection, received by a SUBSCRIBE on another. */
export async function rawRedisLatency(url: string, prefix: string, rate: number, durationMs: number): Promise<RawHop> {
  const producer = new Redis(url);
  const consumer = new Redis(url);
  const channel = `${prefix}.raw`;
  try {
    const samples: number[] = [];
    await consumer.subscribe(channel);
    consumer.on('message', (_channel: string, content: string) => samples.push(latencyOf(content)));
    return await timedDeliveries(rate, durationMs, (content) => void producer.publish(channel, content), samples);
  } finally {
    producer.disconnect();
    consumer.disconnect();
  }
}
