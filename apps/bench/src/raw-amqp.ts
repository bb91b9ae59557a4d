import * as amqp from 'amqplib';
import { pace, payload } from './publisher';
import { now } from './stats';

/**
 * The floor under every cross-node callback: a confirmed publish to a topic
 * exchange on one connection, consumed (no-ack, as the bus does) from a
 * queue bound to it on another. Answers each delivery's latency (ms).
 */
export async function rawAmqpLatency(url: string, prefix: string, rate: number, durationMs: number): Promise<number[]> {
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
    await consume.consume(queue, (message) => message && samples.push(now() - parseFloat(message.content.toString())), { noAck: true });
    const { sent } = await pace(rate, durationMs, () => publish.publish(exchange, 'topic.bench', Buffer.from(payload()), {}, () => undefined));
    const deadline = now() + 5_000;
    while (samples.length < sent && now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return samples;
  } finally {
    await producer.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
}
