import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { DuplexError } from '../protocol';
import type { Bus, BusHandler, BusStats, JobHandler, PublishOptions } from './bus';
import { BROADCAST, BusAddress, nodeAddress, parseRoutingKey, routingKey } from './bus-address';
import type { BusMessage } from './bus-message';
import { BusCounters } from './bus-stats';
import { NoRouteError } from './no-route.error';

export interface AmqpBusOptions {
  url: string;
  nodeId: string;
  /** Prefix of every exchange and queue name, so clusters (and test runs) can share a broker. */
  prefix?: string;
  /** Reconnect backoff: first delay and cap (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

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
  private connection: ChannelModel | null = null;
  private publisher: ConfirmChannel | null = null;
  private consumer: Channel | null = null;
  private handler: BusHandler | null = null;
  private onUp: (() => void) | undefined;
  private up = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private nextMessageId = 0;

  constructor(private readonly options: AmqpBusOptions) {
    this.nodeId = options.nodeId;
    this.prefix = options.prefix ?? 'duplex';
    this.exchange = `${this.prefix}.callbacks`;
    this.queue = `${this.prefix}.node.${this.nodeId}`;
  }

  get connected(): boolean {
    return this.up;
  }

  /** Resolves after the first connection attempt; if it failed, the bus keeps retrying in the background. */
  async start(handler: BusHandler, onUp?: () => void): Promise<void> {
    this.handler = handler;
    this.onUp = onUp;
    this.interests.add(routingKey(nodeAddress(this.nodeId)));
    this.interests.add(routingKey(BROADCAST));
    await this.connect();
  }

  consumeJobs(queue: string, handler: JobHandler): void {
    this.jobs.set(queue, handler);
  }

  async enqueueJob(queue: string, message: BusMessage): Promise<void> {
    const publisher = this.ready();
    await this.confirm(publisher, '', this.jobQueue(queue), message, { persistent: true });
  }

  async publish(address: BusAddress, message: BusMessage, options: PublishOptions = {}): Promise<void> {
    const publisher = this.ready();
    await this.confirm(publisher, this.exchange, routingKey(address), message, { mandatory: options.mandatory }, address);
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

  stats(): BusStats {
    return this.counters.snapshot();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.up = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const connection = this.connection;
    this.connection = this.publisher = this.consumer = null;
    await connection?.close().catch(() => undefined);
  }

  private ready(): ConfirmChannel {
    if (!this.up || !this.publisher) throw new DuplexError('UNAVAILABLE', 'the message bus is unavailable; try again shortly');
    return this.publisher;
  }

  private confirm(
    channel: ConfirmChannel,
    exchange: string,
    key: string,
    message: BusMessage,
    options: amqp.Options.Publish,
    address?: BusAddress,
  ): Promise<void> {
    const messageId = String(++this.nextMessageId);
    const content = Buffer.from(JSON.stringify(message));
    return new Promise<void>((resolve, reject) => {
      try {
        channel.publish(exchange, key, content, { ...options, messageId, contentType: 'application/json' }, (error) => {
          // The broker sends basic.return before the ack of an unroutable mandatory message.
          const unroutable = this.returned.delete(messageId);
          if (error) reject(new DuplexError('UNAVAILABLE', 'the message bus did not confirm the message'));
          else if (unroutable && address) reject(new NoRouteError(address));
          else resolve();
        });
      } catch {
        reject(new DuplexError('UNAVAILABLE', 'the message bus is unavailable; try again shortly'));
      }
    });
  }

  private async connect(): Promise<void> {
    let connection: ChannelModel | null = null;
    try {
      connection = await amqp.connect(this.options.url, {
        clientProperties: { connection_name: `duplex node ${this.nodeId}` },
      });
      const current = connection;
      current.on('error', (error: Error) => this.logger.warn(`broker connection error: ${error.message}`));
      current.on('close', () => this.lost(current));
      const publisher = await current.createConfirmChannel();
      const consumer = await current.createChannel();
      for (const channel of [publisher, consumer]) {
        // A channel closed by the broker (a protocol error) takes the connection down with it, so
        // recovery has one path: reconnect and re-declare everything.
        channel.on('error', (error: Error) => this.logger.warn(`broker channel error: ${error.message}`));
        channel.on('close', () => void current.close().catch(() => undefined));
      }
      publisher.on('return', (message: ConsumeMessage) => this.returned.add(message.properties.messageId));
      await publisher.assertExchange(this.exchange, 'topic', { durable: true });
      await consumer.assertQueue(this.queue, { exclusive: true, autoDelete: true, durable: false });
      for (const key of this.interests) await consumer.bindQueue(this.queue, this.exchange, key);
      await consumer.consume(this.queue, (message) => message && this.deliver(message), { noAck: true });
      for (const [queue, handler] of this.jobs) await this.consumeJobQueue(current, queue, handler);
      if (this.closed) {
        await current.close();
        return;
      }
      this.connection = current;
      this.publisher = publisher;
      this.consumer = consumer;
      this.up = true;
      if (this.attempt > 0) this.counters.reconnects++;
      this.attempt = 0;
      this.logger.log(`node ${this.nodeId} on the broker: ${this.interests.size} bindings on ${this.queue}`);
      this.onUp?.();
    } catch (error) {
      this.logger.warn(`broker unreachable (${(error as Error).message}); retrying`);
      await connection?.close().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private async consumeJobQueue(connection: ChannelModel, queue: string, handler: JobHandler): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`job channel error: ${error.message}`));
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

  private lost(connection: ChannelModel): void {
    if (connection !== this.connection) return;
    this.up = false;
    this.connection = this.publisher = this.consumer = null;
    this.returned.clear();
    if (this.closed) return;
    this.logger.warn('lost the broker connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.attempt++) * (0.8 + Math.random() * 0.4);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private deliver(message: ConsumeMessage): void {
    const address = parseRoutingKey(message.fields.routingKey);
    const decoded = this.decode(message);
    if (!address || !decoded || !this.handler) return;
    this.counters.delivery(address);
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
    return `${this.prefix}.jobs.${queue}`;
  }
}
