/**
 * A group of subscribed clients in a process of its own (forked by the
 * benchmark), so clients do not share an event loop with the publisher.
 * Payloads start with the publish time on the monotonic clock, which every
 * process of this machine shares.
 *
 * The raw hops' consumers live here too: a cross-node hop always ends in
 * another process than it started, and one that ends in the publisher's own
 * process finds it awake (the pacer ticks every 2 ms) where a node would have
 * to be woken.
 */
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { connectDuplex, connectSocketIo } from './clients';
import { RAW_EXCHANGE, RAW_KEY, type RawTransport } from './raw-hop';
import { relayContract } from './relay/relay.contract';
import { now } from './stats';

export type SystemKind = 'duplex' | 'socketio';
/** The systems' clients, or a raw consumer of a transport: `urls[0]` is the broker, `topic` the exchange or channel. */
export type ConsumerKind = SystemKind | RawTransport;

export type SubscriberRequest =
  /** `stall`: once subscribed, the clients stop reading their sockets (slow consumers that never catch up). */
  /** `topics`: client k joins `topics[k % topics.length]`, in place of one `topic` for all. */
  | { type: 'connect'; kind: ConsumerKind; urls: string[]; count: number; topic?: string; topics?: string[]; stall?: boolean }
  | { type: 'reset'; keepSamples: boolean }
  | { type: 'report'; samples: boolean };

export interface SubscriberReport {
  type: 'report';
  delivered: number;
  /** Monotonic time of the last delivery (ms). */
  last: number;
  samples: number[];
}

const closers: Array<() => void> = [];
let delivered = 0;
let last = 0;
let keepSamples = false;
let samples: number[] = [];

function received(payload: string): void {
  const at = now();
  delivered++;
  last = at;
  if (keepSamples) samples.push(at - parseFloat(payload));
}

/** The TCP socket under a socket.io-client WebSocket, to stop reading it. */
function tcpOf(socket: import('socket.io-client').Socket): { pause(): void } {
  return (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket;
}

async function subscribeDuplex(url: string, topic?: string, stall?: boolean): Promise<void> {
  const client = await connectDuplex(url);
  closers.push(() => client.close());
  const relay = client.service(relayContract, { message: received });
  if (topic) await relay.join(topic);
  if (stall) tcpOf(client.socket).pause();
}

async function subscribeSocketIo(url: string, topic?: string, stall?: boolean): Promise<void> {
  const socket = await connectSocketIo(url);
  closers.push(() => socket.close());
  socket.on('message', received);
  if (topic) await socket.timeout(10_000).emitWithAck('join', topic);
  if (stall) tcpOf(socket).pause();
}

/** Consumes (no-ack, as the bus does) from a queue bound to `exchange` with the raw publisher's key. */
async function consumeAmqp(url: string, exchange: string): Promise<void> {
  const connection = await amqp.connect(url, { noDelay: true });
  closers.push(() => void connection.close().catch(() => undefined));
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', RAW_EXCHANGE);
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, RAW_KEY);
  await channel.consume(queue, (message) => message && received(message.content.toString()), { noAck: true });
}

async function subscribeRedis(url: string, channel: string): Promise<void> {
  const redis = new Redis(url);
  closers.push(() => redis.disconnect());
  redis.on('message', (_channel: string, content: string) => received(content));
  await redis.subscribe(channel);
}

const SUBSCRIBE: Record<ConsumerKind, (url: string, topic?: string, stall?: boolean) => Promise<void>> = {
  duplex: subscribeDuplex,
  socketio: subscribeSocketIo,
  amqp: (url, exchange) => consumeAmqp(url, exchange!),
  redis: (url, channel) => subscribeRedis(url, channel!),
};

async function connect(request: Extract<SubscriberRequest, { type: 'connect' }>): Promise<void> {
  const one = SUBSCRIBE[request.kind];
  // A few at a time: a thousand handshakes at once would measure the accept queue, not the system.
  for (let i = 0; i < request.count; i += 20) {
    const topic = (k: number) => (request.topics ? request.topics[k % request.topics.length] : request.topic);
    const batch = Array.from({ length: Math.min(20, request.count - i) }, (_, j) => one(request.urls[(i + j) % request.urls.length], topic(i + j), request.stall));
    await Promise.all(batch);
  }
}

process.on('message', (request: SubscriberRequest) => {
  const reply = (message: object) => process.send!(message);
  switch (request.type) {
    case 'connect':
      connect(request).then(
        () => reply({ type: 'connected' }),
        (error: Error) => reply({ type: 'failed', message: error.message }),
      );
      return;
    case 'reset':
      delivered = 0;
      last = 0;
      samples = [];
      keepSamples = request.keepSamples;
      return reply({ type: 'reset' });
    case 'report':
      return reply({ type: 'report', delivered, last, samples: request.samples ? samples : [] } satisfies SubscriberReport);
  }
});

process.on('disconnect', () => {
  for (const close of closers) close();
  process.exit(0);
});
// Exit rather than die on SIGTERM, so flags like --cpu-prof get to write their files.
process.on('SIGTERM', () => process.exit(0));
