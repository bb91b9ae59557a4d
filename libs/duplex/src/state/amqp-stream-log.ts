import { Logger } from '@nestjs/common';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AmqpConnection, AmqpSession } from '../cluster/amqp-connection';
import { DuplexError } from '@nest-duplex/protocol';
import type { Replica, ReplicationLog } from './replication-log';
import type { LogEntry } from './state-command';
import type { StateSnapshot } from './state-machine';
import { topology } from '../cluster/amqp-topology';

export interface StreamLogOptions {
  /** The brokers of one cluster, any of which will do. */
  urls: readonly string[];
  nodeId: string;
  prefix?: string;
  /** Stream retention (`x-max-age`), e.g. "7D", "12h". */
  retention?: string;
  /** A snapshot is written every this many entries; it must come well before retention drops a segment. */
  snapshotEvery?: number;
  /** Size of a stream segment, the unit retention drops (default 16 MB). */
  segmentBytes?: number;
  /** Also retain at most this many bytes (`x-max-length-bytes`); unset: by age only. */
  maxLengthBytes?: number;
  maxBackoffMs?: number;
}

/** How many deliveries a stream consumer may have unacknowledged (a stream consumer must set one). */
const PREFETCH = 1_000;
/** Brokers that hold a copy of the stream (`x-initial-cluster-size`). */
const STREAM_REPLICAS = 3;
/** Segments this size let retention drop old entries; the active segment is never dropped. */
const SEGMENT_BYTES = 16 * 1024 * 1024;
/**
 * Offsets a stream may skip without losing an entry: each new segment
 * starts with a chunk that is not a message, which takes one offset (seen on
 * RabbitMQ 3.10 at every segment boundary). Retention drops whole segments,
 * so an entry it took from a replica that had not read it shows as a gap of
 * at least two.
 */
const HARMLESS_GAP = 1;

/**
 * The replicated log on a RabbitMQ stream (`<prefix>.state`, `x-queue-type:
 * stream`). Appends are publisher-confirmed. Every node consumes the stream
 * from its replica's position; each delivery's `x-stream-offset` header is the
 * entry's position. Snapshots go to `<prefix>.state.snapshot`, a queue that
 * keeps only the newest (`x-max-length: 1`); a fresh replica starts from it
 * and reads the stream from the position after it, so retention can drop
 * entries older than the newest snapshot without losing state.
 */
export class AmqpStreamLog implements ReplicationLog {
  private readonly logger = new Logger(AmqpStreamLog.name);
  private readonly connection: AmqpConnection;
  private readonly stream: string;
  private readonly snapshots: string;
  private publisher: ConfirmChannel | null = null;
  private replica: Replica | null = null;
  /** Times entries this replica needed were gone from the stream (each logged as an error). */
  gaps = 0;

  constructor(private readonly options: StreamLogOptions) {
    const prefix = options.prefix ?? topology.defaultPrefix;
    this.stream = topology.stateStream(prefix);
    this.snapshots = topology.stateSnapshots(prefix);
    this.connection = new AmqpConnection(
      { urls: options.urls, spreadKey: options.nodeId, name: `duplex state ${options.nodeId}`, maxBackoffMs: options.maxBackoffMs },
      (session) => this.setup(session),
      { down: () => (this.publisher = null) },
    );
  }

  get connected(): boolean {
    return this.connection.connected && this.publisher !== null;
  }

  async start(replica: Replica): Promise<void> {
    this.replica = replica;
    await this.connection.start();
  }

  append(entry: LogEntry): Promise<void> {
    const publisher = this.publisher;
    if (!this.connected || !publisher) return Promise.reject(new DuplexError('UNAVAILABLE', 'the state log is unavailable'));
    return new Promise((resolve, reject) => {
      try {
        publisher.sendToQueue(this.stream, Buffer.from(JSON.stringify(entry)), { persistent: true, messageId: entry.id }, (error) =>
          error ? reject(new DuplexError('UNAVAILABLE', 'the state log did not confirm the entry')) : resolve(),
        );
      } catch {
        reject(new DuplexError('UNAVAILABLE', 'the state log is unavailable'));
      }
    });
  }

  close(): Promise<void> {
    this.publisher = null;
    return this.connection.close();
  }

  private async setup(session: AmqpSession): Promise<void> {
    const replica = this.replica!;
    const publisher = await session.confirmChannel();
    // Made once, by the first node; a stream that exists is used with the settings it was made with.
    await session.declareOnce(this.stream, {
      durable: true,
      arguments: {
        'x-queue-type': 'stream',
        'x-max-age': this.options.retention ?? '7D',
        'x-stream-max-segment-size-bytes': this.options.segmentBytes ?? SEGMENT_BYTES,
        // Three replicas (or as many brokers as there are, if fewer): one broker may die and a majority stays.
        'x-initial-cluster-size': STREAM_REPLICAS,
        // The leader on the broker with the fewest, not on whichever broker the first node happened to reach.
        'x-queue-leader-locator': 'balanced',
        ...(this.options.maxLengthBytes ? { 'x-max-length-bytes': this.options.maxLengthBytes } : {}),
      },
    });
    // A quorum queue, like the stream replicated: a fresh node still finds the snapshot while one broker is down.
    await session.declareOnce(this.snapshots, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1 } });
    if (replica.position < 0) await this.loadSnapshot(session, replica);

    const consumer = await session.channel();
    await consumer.prefetch(PREFETCH);
    let expected = replica.position + 1;
    // A consumer the broker cancels (its stream member went away) reads on from a fresh setup.
    await session.consume(
      consumer,
      this.stream,
      (message) => {
        const position = Number(message.properties.headers?.['x-stream-offset']);
        if (position > expected + HARMLESS_GAP && expected > 0) {
          this.gaps++;
          this.logger.error(
            `state entries ${expected}–${position - 1} are gone from the stream before this replica applied them: retention outran the snapshots`,
          );
        }
        expected = position + 1;
        this.apply(replica, message, position, publisher);
        consumer.ack(message);
      },
      { noAck: false, arguments: { 'x-stream-offset': replica.position + 1 } },
    );
    this.publisher = publisher;
  }

  private async loadSnapshot(session: AmqpSession, replica: Replica): Promise<void> {
    const channel: Channel = await session.channel();
    const message = await channel.get(this.snapshots, { noAck: false });
    if (!message) return channel.close();
    const snapshot = JSON.parse(message.content.toString()) as StateSnapshot;
    channel.nack(message, false, true); // back in the queue for the next node
    await channel.close();
    replica.restore(snapshot);
    this.logger.log(`restored the state snapshot at position ${snapshot.position}`);
  }

  private apply(replica: Replica, message: ConsumeMessage, position: number, publisher: ConfirmChannel): void {
    let entry: LogEntry;
    try {
      entry = JSON.parse(message.content.toString()) as LogEntry;
    } catch {
      this.logger.error(`skipped a malformed state entry at ${position}`);
      return;
    }
    replica.apply(entry, position);
    const every = this.options.snapshotEvery ?? 1_000;
    if ((position + 1) % every === 0) this.writeSnapshot(replica, publisher);
  }

  /** Every node writes the same snapshot at the same positions: no coordination needed, and any one of them will do. */
  private writeSnapshot(replica: Replica, publisher: ConfirmChannel): void {
    const content = Buffer.from(JSON.stringify(replica.snapshot()));
    try {
      publisher.sendToQueue(this.snapshots, content, { persistent: true }, (error) => {
        if (error) this.logger.warn(`snapshot at ${replica.position} not confirmed`);
      });
    } catch (error) {
      this.logger.warn(`snapshot at ${replica.position} not written: ${(error as Error).message}`);
    }
  }
}
