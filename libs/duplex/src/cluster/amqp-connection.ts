import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import type { Writable } from 'node:stream';
import { coalesceWrites } from './coalesced-writes';

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in the broker's connection list. */
  name: string;
  /** Reconnect backoff: first delay and cap (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * One AMQP connection that comes back by itself. After every (re)connect it
 * runs `setup` (declare topology, open channels, consume); a failed setup or
 * any channel closed by the broker drops the connection, so recovery has one
 * path: reconnect with exponential backoff and set everything up again.
 */
export class AmqpConnection {
  private readonly logger: Logger;
  private connection: ChannelModel | null = null;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  reconnects = 0;

  constructor(
    private readonly options: AmqpConnectionOptions,
    private readonly setup: (connection: AmqpSession) => Promise<void>,
    private readonly events: { up?: () => void; down?: () => void } = {},
  ) {
    this.logger = new Logger(`Amqp ${options.name}`);
  }

  get connected(): boolean {
    return this.connection !== null;
  }

  /** Resolves after the first attempt; if it failed, retries go on in the background. */
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
      connection = await amqp.connect(this.options.url, { noDelay: true, clientProperties: { connection_name: this.options.name } });
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
      if (this.attempt > 0) this.reconnects++;
      this.attempt = 0;
      this.events.up?.();
    } catch (error) {
      this.logger.warn(`broker unreachable (${(error as Error).message}); retrying`);
      await connection?.close().catch(() => undefined);
      this.scheduleReconnect();
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
