import { Logger } from '@nestjs/common';
import type * as amqp from 'amqplib';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AmqpConnection, AmqpSession } from './amqp-connection';
import { DuplexError } from '../protocol';
import type { Bus, BusHandler, BusStats, JobHandler, PublishOptions } from './bus';
import { BROADCAST, BusAddress, nodeAddress, parseRoutingKey, routingKey } from './bus-address';
import type { BusMessage } from './bus-message';
import { BusCounters } from './bus-stats';
import { wallClockMs } from './latency-window';
import { NoRouteError } from './no-route.error';
import { topology } from './amqp-topology';

export interface AmqpBusOptions {
  url: string;
  nodeId: string;
  /** Prefix of every exchange and queue name, so clusters (and test runs) can share a broker. */
  prefix?: string;
  /** Reconnect backoff: first delay and cap (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Header with the publisher's wall clock (ms), for the delivery latency of the hop. */
const SENT_AT = 'x-sent-at';

/** An idle job queue (no consumer, no use) is deleted by the broker after this long. */
const JOB_QUEUE_EXPIRES_MS = 24 * 60 * 60 * 1000;

/**
 * The cluster bus on RabbitMQ.
 *
 * Topology: one topic exchange `<prefix>.callbacks`; one exclusive,
 * auto-delete queue per node `<prefix>.node.<nodeId>`, bound only to the keys
 * the node has interest in (its topics, its sessions, its node key and
 * `broadcast`). Job queues `<prefix>.jobs.<name>` are durable with a single
 * active consumer. Publishes use publisher confirms; messages to one session
 * are `mandatory`, so an unroutable one is an error, not a silent drop.
 *
 * On connection loss it reconnects with exponential backoff, re-declares the
 * topology and re-binds every current interest. While it is down, `publish`
 * fails fast with UNAVAILABLE.
 */
export class AmqpBus implements Bus {
  readonly nodeId: string;
  private readonly logger = new Logger(AmqpBus.name);
  private readonly exchange: string;
  private readonly queue: string;
  private readonly prefix: string;
  private readonly interests = new Set<string>();
  private readonly jobs = new Map<string, JobHandler>();
  private readonly returned = new Set<string>();
  private readonly counters = new BusCounters();
  private readonly connection: AmqpConnection;
  private publisher: ConfirmChannel | null = null;
  private consumer: Channel | null = null;
  private handler: BusHandler | null = null;
  private onUp: (() => void) | undefined;
  private nextMessageId = 0;
  /**
   * The headers of every publish: one object, its sent-at rewritten before
   * each. amqplib makes the headers it is given the prototype of an object
   * of its own (`Object.create(options.headers)`), and V8 gives each new
   * prototype a hidden class of its own, allocated in the old generation: a
   * fresh headers object per publish was a third of what a node promoted
   * at 1,000 publishes a second, and lengthened every scavenge.
   * `channel.publish` encodes the headers before it returns, so rewriting
   * one object between publishes is safe.
   */
  private readonly sentAtHeader: Record<string, number> = { [SENT_AT]: 0 };

  constructor(options: AmqpBusOptions) {
    this.nodeId = options.nodeId;
    this.prefix = options.prefix ?? topology.defaultPrefix;
    this.exchange = topology.exchange(this.prefix);
    this.queue = topology.nodeQueue(this.prefix, this.nodeId);
    this.connection = new AmqpConnection(
      { url: options.url, name: `duplex bus ${this.nodeId}`, minBackoffMs: options.minBackoffMs, maxBackoffMs: options.maxBackoffMs },
      (session) => this.setup(session),
      {
        up: () => this.onUp?.(),
        down: () => {
          this.publisher = this.consumer = null;
          this.returned.clear();
        },
      },
    );
  }

  get connected(): boolean {
    return this.connection.connected && this.publisher !== null;
  }

  /** Resolves after the first connection attempt; if it failed, the bus keeps retrying in the background. */
  async start(handler: BusHandler, onUp?: () => void): Promise<void> {
    this.handler = handler;
    this.onUp = onUp;
    this.interests.add(routingKey(nodeAddress(this.nodeId)));
    this.interests.add(routingKey(BROADCAST));
    await this.connection.start();
  }

  consumeJobs(queue: string, handler: JobHandler): void {
    this.jobs.set(queue, handler);
  }

  async enqueueJob(queue: string, message: BusMessage): Promise<void> {
    await this.confirm(this.ready(), '', this.jobQueue(queue), message, { persistent: true });
  }

  async publish(address: BusAddress, message: BusMessage, options: PublishOptions = {}): Promise<void> {
    await this.confirm(this.ready(), this.exchange, routingKey(address), message, { mandatory: options.mandatory }, address);
    this.counters.published++;
  }

  async bind(address: BusAddress): Promise<void> {
    const key = routingKey(address);
    if (this.interests.has(key)) return;
    this.interests.add(key);
    // While down, the interest is recorded and bound on reconnect.
    await this.consumer?.bindQueue(this.queue, this.exchange, key).catch(() => undefined);
  }

  async unbind(address: BusAddress): Promise<void> {
    const key = routingKey(address);
    if (!this.interests.delete(key)) return;
    await this.consumer?.unbindQueue(this.queue, this.exchange, key).catch(() => undefined);
  }

  stats(recentLatency?: number): BusStats {
    return { ...this.counters.snapshot(recentLatency), reconnects: this.connection.reconnects };
  }

  close(): Promise<void> {
    this.publisher = this.consumer = null;
    return this.connection.close();
  }

  private async setup(session: AmqpSession): Promise<void> {
    const publisher = await session.confirmChannel();
    const consumer = await session.channel();
    publisher.on('return', (message: ConsumeMessage) => this.returned.add(message.properties.messageId));
    await publisher.assertExchange(this.exchange, 'topic', { durable: true });
    await consumer.assertQueue(this.queue, { exclusive: true, autoDelete: true, durable: false });
    for (const key of this.interests) await consumer.bindQueue(this.queue, this.exchange, key);
    await consumer.consume(this.queue, (message) => message && this.deliver(message), { noAck: true });
    for (const [queue, handler] of this.jobs) await this.consumeJobQueue(session, queue, handler);
    this.publisher = publisher;
    this.consumer = consumer;
    this.logger.log(`node ${this.nodeId} on the broker: ${this.interests.size} bindings on ${this.queue}`);
  }

  private ready(): ConfirmChannel {
    if (!this.connected || !this.publisher) {
      throw new DuplexError('UNAVAILABLE', 'the message bus is unavailable; try again shortly');
    }
    return this.publisher;
  }

  private confirm(
    channel: ConfirmChannel,
    exchange: string,
    key: string,
    message: BusMessage,
    options: Pick<amqp.Options.Publish, 'mandatory' | 'persistent'>,
    address?: BusAddress,
  ): Promise<void> {
    // Only a mandatory message can come back (basic.return), and its id is what matches the return to it.
    const messageId = options.mandatory ? String(++this.nextMessageId) : undefined;
    const content = Buffer.from(JSON.stringify(message));
    const sentAt = wallClockMs();
    this.sentAtHeader[SENT_AT] = sentAt;
    // Spelled out, not spread from `options`: one shape for every publish.
    const properties: amqp.Options.Publish = {
      mandatory: options.mandatory,
      persistent: options.persistent,
      messageId,
      headers: this.sentAtHeader,
      contentType: 'application/json',
    };
    return new Promise<void>((resolve, reject) => {
      try {
        channel.publish(exchange, key, content, properties, (error) => {
          this.counters.publishLatency.record(wallClockMs() - sentAt);
          // The broker sends basic.return before the ack of an unroutable mandatory message.
          const unroutable = messageId !== undefined && this.returned.delete(messageId);
          if (error) reject(new DuplexError('UNAVAILABLE', 'the message bus did not confirm the message'));
          else if (unroutable && address) reject(new NoRouteError(address));
          else resolve();
        });
      } catch {
        reject(new DuplexError('UNAVAILABLE', 'the message bus is unavailable; try again shortly'));
      }
    });
  }

  private async consumeJobQueue(session: AmqpSession, queue: string, handler: JobHandler): Promise<void> {
    const channel = await session.channel();
    await channel.prefetch(1);
    const name = this.jobQueue(queue);
    await channel.assertQueue(name, {
      durable: true,
      arguments: { 'x-single-active-consumer': true, 'x-expires': JOB_QUEUE_EXPIRES_MS },
    });
    await channel.consume(name, (message) => {
      if (!message) return;
      const job = this.decode(message);
      if (!job) return channel.ack(message);
      // Acked only once handled: if this node dies first, the next active consumer gets it.
      handler(job).then(
        () => channel.ack(message),
        (error: unknown) => {
          this.logger.error(`job on ${queue} failed: ${(error as Error)?.message ?? error}`);
          channel.ack(message);
        },
      );
    });
  }

  private deliver(message: ConsumeMessage): void {
    const address = parseRoutingKey(message.fields.routingKey);
    const decoded = this.decode(message);
    if (!address || !decoded || !this.handler) return;
    this.counters.delivery(address);
    const sentAt = message.properties.headers?.[SENT_AT];
    if (typeof sentAt === 'number') this.counters.deliveryLatency.record(wallClockMs() - sentAt);
    this.handler(decoded, address);
  }

  private decode(message: ConsumeMessage): BusMessage | null {
    try {
      return JSON.parse(message.content.toString()) as BusMessage;
    } catch {
      this.logger.warn(`dropped a malformed bus message on ${message.fields.routingKey}`);
      return null;
    }
  }

  private jobQueue(queue: string): string {
    return topology.jobQueue(this.prefix, queue);
  }
}
