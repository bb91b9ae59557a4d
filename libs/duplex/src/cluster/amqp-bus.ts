import { Logger } from '@nestjs/common';
import type * as amqp from 'amqplib';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AmqpConnection, AmqpSession } from './amqp-connection';
import { BusUnavailableError } from './bus-unavailable.error';
import type { Bus, BusHandler, BusStats, BusUp, JobHandler, PublishOptions } from './bus';
import { BROADCAST, BusAddress, nodeAddress, parseRoutingKey, routingKey } from './bus-address';
import type { BusMessage } from './bus-message';
import { BusCounters } from './bus-stats';
import { wallClockMs } from './latency-window';
import { NoRouteError } from './no-route.error';
import { RecentIds } from './recent-ids';
import { topology } from './amqp-topology';

export interface AmqpBusOptions {
  /** The brokers of one cluster, any of which will do. */
  urls: readonly string[];
  nodeId: string;
  /** Prefix of every exchange and queue name, so clusters (and test runs) can share a broker. */
  prefix?: string;
  /** Reconnect backoff: first delay and cap (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long the inbox outlives a lost connection (`x-expires`, ms): a node back within it loses nothing. */
  inboxTtlMs?: number;
  /** Whether the inbox hears the cluster's broadcasts (presence): nodes do; a process that only raises callbacks does not. Default true. */
  broadcast?: boolean;
}

/** Header with the publisher's wall clock (ms), for the delivery latency of the hop. */
const SENT_AT = 'x-sent-at';

/** Deliveries a node may hold unacknowledged: what the broker redelivers after a lost connection. */
const PREFETCH = 1_000;
/** Deliveries acked together: at once past this many (well under PREFETCH, so the broker never waits on acks)... */
const ACK_BATCH = 100;
/** ...or this long after the first of them. */
const ACK_DELAY_MS = 20;
const DEFAULT_INBOX_TTL_MS = 60_000;
/** AMQP's reply code for a queue that is missing, or whose broker is down. */
const NOT_FOUND = 404;
/** Inbox generations a node tries before it gives up a setup (each one's broker down). */
const MAX_INBOX_GENERATIONS = 16;

/** An idle job queue (no consumer, no use) is deleted by the broker after this long. */
const JOB_QUEUE_EXPIRES_MS = 24 * 60 * 60 * 1000;

/**
 * The cluster bus on RabbitMQ.
 *
 * Topology: one topic exchange `<prefix>.callbacks`; one durable inbox per
 * node `<prefix>.node.<nodeId>` that expires when unused for the inbox TTL,
 * bound only to the keys the node has interest in (its topics, its node key
 * and `broadcast`; never one per session), consumed with acknowledgements,
 * so a connection lost for less than the TTL loses nothing. A transient
 * marker exchange bound to it tells a reconnecting node whether the inbox
 * outlived the outage (BusUp.lost); a node that fails over while its
 * inbox's broker is down makes a new one where it lands (BusUp.lost too).
 * Job queues `<prefix>.jobs.<name>` are quorum queues with a single active
 * consumer. Publishes use publisher confirms; messages to one node are
 * `mandatory`, so an unroutable one is an error, not a silent drop.
 *
 * On connection loss it reconnects (to the same broker first, then the
 * next), re-declares the topology and re-binds every current interest.
 * While it is down, `publish` fails fast with UNAVAILABLE.
 */
export class AmqpBus implements Bus {
  readonly nodeId: string;
  private readonly logger = new Logger(AmqpBus.name);
  private readonly exchange: string;
  /** The inbox this node consumes: its first generation unless a failover found an earlier one's broker down. */
  private queue: string;
  private generation = 0;
  private readonly prefix: string;
  private readonly interests = new Set<string>();
  private readonly jobs = new Map<string, JobHandler>();
  private readonly returned = new Set<string>();
  private readonly counters = new BusCounters();
  private readonly connection: AmqpConnection;
  private publisher: ConfirmChannel | null = null;
  private consumer: Channel | null = null;
  private handler: BusHandler | null = null;
  private onUp: ((up: BusUp) => void) | undefined;
  private nextMessageId = 0;
  private readonly inboxTtlMs: number;
  private readonly broadcast: boolean;
  /** Set up once: later setups are reconnections, whose inbox may have kept what came meanwhile. */
  private setUp = false;
  private lostInOutage = false;
  /** Closing: the inbox's own deletion cancels its consumer, which is no reason to reconnect. */
  private closing = false;
  /** Interests changed while there was no consumer channel: the inbox's bindings catch up when there is one. */
  private readonly unsynced = new Set<string>();
  /** The newest delivery not yet acknowledged, acked with all before it (see acknowledge). */
  private unacked: { channel: Channel; message: ConsumeMessage } | null = null;
  private unackedCount = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  /** Callback ids delivered lately: a delivery the broker repeats after a lost connection is dropped. */
  private readonly delivered = new RecentIds(2 * PREFETCH);
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
    this.inboxTtlMs = options.inboxTtlMs ?? DEFAULT_INBOX_TTL_MS;
    this.broadcast = options.broadcast ?? true;
    this.connection = new AmqpConnection(
      { urls: options.urls, spreadKey: this.nodeId, name: `duplex bus ${this.nodeId}`, minBackoffMs: options.minBackoffMs, maxBackoffMs: options.maxBackoffMs },
      (session) => this.setup(session),
      {
        up: () => this.onUp?.({ lost: this.lostInOutage }),
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
  async start(handler: BusHandler, onUp?: (up: BusUp) => void): Promise<void> {
    this.handler = handler;
    this.onUp = onUp;
    this.interests.add(routingKey(nodeAddress(this.nodeId)));
    if (this.broadcast) this.interests.add(routingKey(BROADCAST));
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
    if (!this.consumer) this.unsynced.add(key);
    // While down, the interest is recorded and bound on reconnect.
    await this.consumer?.bindQueue(this.queue, this.exchange, key).catch(() => undefined);
  }

  async unbind(address: BusAddress): Promise<void> {
    const key = routingKey(address);
    if (!this.interests.delete(key)) return;
    if (!this.consumer) this.unsynced.add(key);
    await this.consumer?.unbindQueue(this.queue, this.exchange, key).catch(() => undefined);
  }

  stats(recentLatency?: number): BusStats {
    return { ...this.counters.snapshot(recentLatency), reconnects: this.connection.reconnects };
  }

  /** Stopping for good: the inbox goes too (its marker with it), so nothing is routed to a node that is gone. */
  async close(): Promise<void> {
    this.closing = true;
    const consumer = this.consumer;
    this.publisher = this.consumer = null;
    await consumer?.deleteQueue(this.queue).catch(() => undefined);
    return this.connection.close();
  }

  private async setup(session: AmqpSession): Promise<void> {
    const publisher = await session.confirmChannel();
    publisher.on('return', (message: ConsumeMessage) => this.returned.add(message.properties.messageId));
    await publisher.assertExchange(this.exchange, 'topic', { durable: true });
    const { moved, intact } = await this.declareInbox(session);
    const marker = topology.inboxMarker(this.queue);
    const consumer = await session.channel();
    await consumer.assertExchange(marker, 'fanout', { durable: false, autoDelete: true });
    await consumer.bindQueue(this.queue, marker, '');
    for (const key of this.interests) await consumer.bindQueue(this.queue, this.exchange, key);
    await consumer.prefetch(PREFETCH);
    await session.consume(consumer, this.queue, (message) => this.deliver(consumer, message), { noAck: false }, () => this.closing);
    for (const [queue, handler] of this.jobs) await this.consumeJobQueue(session, queue, handler);
    this.lostInOutage = this.setUp && (moved || !intact);
    if (moved) this.logger.warn(`node ${this.nodeId}'s inbox is on a broker that is down: it consumes ${this.queue} now; what was routed to the old one meanwhile may be lost`);
    else if (this.lostInOutage) this.logger.warn(`node ${this.nodeId}'s inbox did not outlive the outage: what was routed to it meanwhile may be lost`);
    this.setUp = true;
    this.publisher = publisher;
    this.consumer = consumer;
    // Interests dropped while down, or changed during this setup: the inbox's bindings follow them now.
    for (const key of [...this.unsynced]) {
      this.unsynced.delete(key);
      const sync = this.interests.has(key) ? consumer.bindQueue(this.queue, this.exchange, key) : consumer.unbindQueue(this.queue, this.exchange, key);
      await sync.catch(() => undefined);
    }
    this.logger.log(`node ${this.nodeId} on the broker: ${this.interests.size} bindings on ${this.queue}`);
  }

  /**
   * Declares the inbox. A classic queue lives on one broker; while that
   * broker is down the cluster answers 404 for it, and the node makes the
   * next generation on the broker it is on (`moved`: what went to the old
   * one is out of reach). `intact`: the inbox and its marker outlived the
   * outage, so nothing routed to this node meanwhile was lost.
   */
  private async declareInbox(session: AmqpSession): Promise<{ moved: boolean; intact: boolean }> {
    const first = !this.setUp;
    const from = this.queue;
    for (let tries = 0; tries < MAX_INBOX_GENERATIONS; tries++) {
      // What a process of this node id left (messages, bindings) is not for this one.
      if (first) await session.attempt((channel) => channel.deleteQueue(this.queue));
      // Durable (4.3 refuses transient non-exclusive queues), classic whatever the broker's default type,
      // and gone once unused for the TTL: it keeps what is routed to this node across a lost connection.
      const declared = await session.attempt((channel) =>
        channel.assertQueue(this.queue, {
          durable: true,
          exclusive: false,
          autoDelete: false,
          arguments: { 'x-queue-type': 'classic', 'x-expires': this.inboxTtlMs },
        }),
      );
      if ('value' in declared) {
        const moved = this.queue !== from;
        // Checked once the inbox is declared: an inbox that expired just now was recreated without it.
        const marker = await session.attempt((channel) => channel.checkExchange(topology.inboxMarker(this.queue)));
        return { moved, intact: !first && !moved && 'value' in marker };
      }
      if (declared.refused.code !== NOT_FOUND) throw new Error(`could not declare ${this.queue}: ${declared.refused.message}`);
      this.queue = topology.nodeQueue(this.prefix, this.nodeId, ++this.generation);
    }
    throw new Error(`node ${this.nodeId} found no inbox it could declare in ${MAX_INBOX_GENERATIONS} generations`);
  }

  private ready(): ConfirmChannel {
    if (!this.connected || !this.publisher) {
      throw new BusUnavailableError();
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
          if (error) reject(new BusUnavailableError('the message bus did not confirm the message'));
          else if (unroutable && address) reject(new NoRouteError(address));
          else resolve();
        });
      } catch {
        reject(new BusUnavailableError());
      }
    });
  }

  private async consumeJobQueue(session: AmqpSession, queue: string, handler: JobHandler): Promise<void> {
    const channel = await session.channel();
    await channel.prefetch(1);
    const name = this.jobQueue(queue);
    // Quorum: replicated, so a job outlives the broker it was sent to. One made by an earlier version is used as it is.
    await session.declareOnce(name, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true, 'x-expires': JOB_QUEUE_EXPIRES_MS },
    });
    await session.consume(channel, name, (message) => {
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
    }, {}, () => this.closing);
  }

  private deliver(channel: Channel, message: ConsumeMessage): void {
    this.acknowledge(channel, message);
    const address = parseRoutingKey(message.fields.routingKey);
    const decoded = this.decode(message);
    if (!address || !decoded || !this.handler) return;
    if (decoded.type === 'callback' && decoded.id !== undefined && this.delivered.seen(decoded.id) && message.fields.redelivered) return;
    this.counters.delivery(address);
    const sentAt = message.properties.headers?.[SENT_AT];
    if (typeof sentAt === 'number') this.counters.deliveryLatency.record(wallClockMs() - sentAt);
    this.handler(decoded, address);
  }

  /**
   * Acked after it is handled, many deliveries in one frame: at most
   * ACK_DELAY_MS after the first not yet acked, or at once past ACK_BATCH.
   * An ack is a write to the broker's socket, and a node receiving a trickle
   * (a topic or two of many) would otherwise write one per delivery, which
   * cost it more than the delivery itself. What a lost connection had not
   * acked is delivered again and dropped by id, not lost.
   */
  private acknowledge(channel: Channel, message: ConsumeMessage): void {
    this.unacked = { channel, message };
    if (++this.unackedCount >= ACK_BATCH) return this.flushAcks();
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
      this.ackTimer.unref();
    }
  }

  private flushAcks(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const last = this.unacked;
    this.unacked = null;
    this.unackedCount = 0;
    try {
      last?.channel.ack(last.message, true);
    } catch {
      // The channel closed with its connection: the broker delivers these again.
    }
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
