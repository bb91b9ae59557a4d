/**
 * The floors under every cross-node hop: a raw amqplib hop (what this
 * project's bus does) and a raw Redis pub/sub hop (what the Socket.IO Redis
 * adapter does), each with the library's own client and nothing else. The
 * publisher runs in the benchmark process, the consumer in a process of its
 * own (subscribers.ts), as node A and node B are.
 */
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { collect, drained, SubscriberGroup } from './processes';
import { pace, payload } from './publisher';

export type RawTransport = 'amqp' | 'redis';

/** How the raw amqplib hop's exchange is declared and the key it publishes with, on both ends. */
export const RAW_EXCHANGE: amqp.Options.AssertExchange = { durable: false, autoDelete: true };
export const RAW_KEY = 'topic.bench';

export interface RawHop {
  sent: number;
  samples: number[];
}

/** Where one transport's raw hop publishes. */
interface RawPublisher {
  publish(content: string): void;
  close(): Promise<void>;
}

/** A confirmed publish to a topic exchange, as the bus publishes. */
async function amqpPublisher(url: string, exchange: string): Promise<RawPublisher> {
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', RAW_EXCHANGE);
  return {
    publish: (content) => channel.publish(exchange, RAW_KEY, Buffer.from(content), {}, () => undefined),
    close: () => connection.close().catch(() => undefined),
  };
}

async function redisPublisher(url: string, channel: string): Promise<RawPublisher> {
  const redis = new Redis(url);
  return {
    publish: (content) => void redis.publish(channel, content),
    close: async () => redis.disconnect(),
  };
}

/**
 * Opens one transport's raw hop: a consumer process subscribed, a publisher
 * here. `measure` publishes at `rate` for `durationMs` and answers how many it
 * sent and every delivery's latency (ms), waiting at most 5 s for the last.
 */
export async function openRawHop(transport: RawTransport, url: string, prefix: string) {
  const name = `${prefix}.raw`;
  const consumer = await SubscriberGroup.start({ type: 'connect', kind: transport, urls: [url], count: 1, topic: name });
  const publisher = await (transport === 'amqp' ? amqpPublisher : redisPublisher)(url, name).catch(async (error: unknown) => {
    await consumer.stop();
    throw error;
  });
  return {
    async measure(rate: number, durationMs: number): Promise<RawHop> {
      await consumer.reset(true);
      const { sent } = await pace(rate, durationMs, () => publisher.publish(payload()));
      await drained([consumer], sent);
      return { sent, samples: (await collect([consumer], true)).samples };
    },
    async close(): Promise<void> {
      await publisher.close();
      await consumer.stop();
    },
  };
}
