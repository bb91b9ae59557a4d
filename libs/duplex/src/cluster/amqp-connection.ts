import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import type { Writable } from 'node:stream';
import { BrokerList, brokerName } from './broker-list';
import { coalesceWrites } from './coalesced-writes';

export interface AmqpConnectionOptions {
  /** The brokers of one cluster, any of which will do. */
  urls: readonly string[];
  /** Spreads the connections of a cluster's nodes over its brokers (the node id). */
  spreadKey: string;
  /** Shown in the broker's connection list. */
  name: string;
  /** Reconnect backoff: first delay and cap (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A broker that neither accepts nor refuses the connection within this long is skipped (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * One AMQP connection that comes back by itself. After every (re)connect it
 * runs `setup` (declare topology, open channels, consume); a failed setup or
 * any channel closed by the broker drops the connection, so recovery has one
 * path: reconnect and set everything up again. A lost connection is tried
 * again on the same broker first (what it declared there is most likely
 * intact), then on the next broker of the list at once, and after a round
 * in which every broker failed, with exponential backoff.
 */
export class AmqpConnection {
  private readonly logger: Logger;
  private connection: ChannelModel | null = null;
  private closed = false;
  /** Rounds failed since the last connection: the exponent of the backoff. */
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly brokers: BrokerList;
  reconnects = 0;

  constructor(
    private readonly options: AmqpConnectionOptions,
    private readonly setup: (connection: AmqpSession) => Promise<void>,
    private readonly events: { up?: () => void; down?: () => void } = {},
  ) {
    this.logger = new Logger(`Amqp ${options.name}`);
    this.brokers = new BrokerList(options.urls, options.spreadKey);
  }

  /** The broker it is on, or tries next (host:port). */
  get broker(): string {
    return brokerName(this.brokers.current);
  }

  get connected(): boolean {
    return this.connection !== null;
  }

  /** Resolves once connected, or once every broker failed once; retries then go on in the background. */
  start(): Promise<void> {
    return this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = null;
    await connection?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    let connection: ChannelModel | null = null;
    try {
      // noDelay: with Nagle on, every small frame waits for the broker's delayed ACK, ~40 ms a hop.
      connection = await amqp.connect(this.brokers.current, {
        noDelay: true,
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: this.options.name },
      });
      const current = connection;
      coalesceWrites(socketOf(current));
      current.on('error', (error: Error) => this.logger.warn(`connection error: ${error.message}`));
      current.on('close', () => this.lost(current));
      await this.setup(new AmqpSession(current, this.logger));
      if (this.closed) {
        await current.close();
        return;
      }
      this.connection = current;
      if (this.attempt > 0) {
        this.reconnects++;
        this.logger.log(`connected to ${this.broker}`);
      }
      this.attempt = 0;
      this.brokers.connected();
      this.events.up?.();
    } catch (error) {
      const failed = this.broker;
      await connection?.close().catch(() => undefined);
      const roundDone = this.brokers.advance();
      const next = this.brokers.urls.length > 1 ? `; trying ${this.broker}${roundDone ? ' after a pause' : ''}` : '; retrying';
      this.logger.warn(`broker ${failed} unreachable (${(error as Error).message})${next}`);
      if (roundDone) this.scheduleReconnect();
      else if (!this.closed) return this.connect();
    }
  }

  private lost(connection: ChannelModel): void {
    if (connection !== this.connection) return;
    this.connection = null;
    this.events.down?.();
    if (this.closed) return;
    this.logger.warn('lost the broker connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.attempt++) * (0.8 + Math.random() * 0.4);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}

/** The socket under an amqplib connection (not in its typings, stable since 0.5). */
function socketOf(connection: ChannelModel): Writable {
  return (connection as unknown as { connection: { stream: Writable } }).connection.stream;
}

/** A broker's answer that closed a channel: its AMQP reply code (404 not found, 406 precondition failed) and text. */
export interface BrokerRefusal {
  code: number;
  message: string;
}

/** What `setup` gets: channels wired so that a channel the broker closes takes the connection down. */
export class AmqpSession {
  constructor(
    readonly connection: ChannelModel,
    private readonly logger: Logger,
  ) {}

  channel(): Promise<Channel> {
    return this.watch(this.connection.createChannel());
  }

  confirmChannel(): Promise<amqp.ConfirmChannel> {
    return this.watch(this.connection.createConfirmChannel());
  }

  /**
   * Consumes `queue` on `channel`. A consumer the broker cancels (its queue
   * deleted, or gone with its broker) takes the connection down, so setup
   * runs again from scratch, unless `cancelExpected` says the owner caused
   * it (deleting its own queue on the way out).
   */
  async consume(
    channel: Channel,
    queue: string,
    onMessage: (message: amqp.ConsumeMessage) => void,
    options: amqp.Options.Consume,
    cancelExpected: () => boolean = () => false,
  ): Promise<void> {
    await channel.consume(
      queue,
      (message) => {
        if (message) return onMessage(message);
        if (cancelExpected()) return;
        this.logger.warn(`the broker cancelled the consumer of ${queue}; reconnecting`);
        void this.connection.close().catch(() => undefined);
      },
      options,
    );
  }

  /**
   * Runs `operation` on a channel of its own and closes it: a refusal (the
   * broker closes the channel, e.g. 404 for a missing queue) is an answer,
   * `{ refused }` with the broker's reply code, not a lost connection.
   */
  async attempt<T>(operation: (channel: Channel) => Promise<T>): Promise<{ value: T } | { refused: BrokerRefusal }> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    try {
      const value = await operation(channel);
      await channel.close().catch(() => undefined);
      return { value };
    } catch (error) {
      const { code, message } = error as { code?: unknown; message: string };
      if (typeof code !== 'number') {
        await channel.close().catch(() => undefined);
        throw error;
      }
      return { refused: { code, message } };
    }
  }

  /**
   * Declares a queue with `options` unless it exists: an existing queue is
   * used as it is, so settings changed since it was made (retention, type)
   * do not stop a node with PRECONDITION_FAILED; they apply once the queue
   * is made again.
   */
  async declareOnce(queue: string, options: amqp.Options.AssertQueue): Promise<void> {
    const found = await this.attempt((channel) => channel.checkQueue(queue));
    if ('value' in found) return;
    const made = await this.attempt((channel) => channel.assertQueue(queue, options));
    if ('refused' in made) throw new Error(`could not declare ${queue}: ${made.refused.message}`);
  }

  private async watch<T extends Channel>(opening: Promise<T>): Promise<T> {
    const channel = await opening;
    // The broker closes a channel with an error (amqplib emits 'error', then 'close'); a
    // channel we close ourselves only emits 'close' and must not take the connection down.
    channel.on('error', (error: Error) => {
      this.logger.warn(`channel error: ${error.message}`);
      void this.connection.close().catch(() => undefined);
    });
    return channel;
  }
}
