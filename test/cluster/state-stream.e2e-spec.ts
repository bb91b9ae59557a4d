import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AmqpStreamLog, type StreamLogOptions } from '@nest-duplex/server/internal';
import type { Replica } from '@nest-duplex/server/internal';
import { ReplicatedStore } from '@nest-duplex/server/internal';
import type { LogEntry } from '@nest-duplex/server/internal';
import { removeTopology, suitePrefix } from '../support/cluster';
import { eventually } from '../support/clients';

/**
 * The state stream on its own, on the real broker, with small segments so a
 * run crosses many segment boundaries: an offset skipped at a boundary is not
 * a lost entry, and an entry retention really took stays loud.
 */
describe('the state stream', () => {
  const errors: string[] = [];
  const logs: AmqpStreamLog[] = [];
  const prefixes: string[] = [];
  const open = (name: string, options: Omit<StreamLogOptions, 'urls' | 'prefix' | 'nodeId'>, prefix: string) => {
    const log = new AmqpStreamLog({ urls: [process.env.AMQP_URL!], nodeId: `${prefix}-${name}`, prefix, ...options });
    logs.push(log);
    return log;
  };

  beforeAll(() => {
    Logger.overrideLogger({
      log: () => undefined,
      warn: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
      error: (message: unknown) => void errors.push(String(message)),
    });
  });
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close()));
    errors.length = 0;
  });
  afterAll(async () => {
    Logger.overrideLogger(['log', 'warn', 'error']);
    for (const prefix of prefixes) await removeTopology(prefix);
  });

  it('applies 60,000 writes across segment boundaries with no error logged and none lost, live and replayed from the start', async () => {
    const prefix = suitePrefix('stream-boundaries');
    prefixes.push(prefix);
    // About 9 MB of entries in 1 MB segments; no snapshots, so the second replica reads it all.
    const options = { segmentBytes: 1_000_000, snapshotEvery: 1_000_000_000 };
    const writerLog = open('writer', options, prefix);
    const writer = new ReplicatedStore(writerLog);
    await writer.start();
    for (let i = 0; i < 60_000; i += 1_000) {
      await Promise.all(Array.from({ length: 1_000 }, () => writer.increment('count', 1)));
    }
    expect(writer.get('count')).toBe(60_000);

    const readerLog = open('reader', options, prefix);
    const reader = new ReplicatedStore(readerLog);
    await reader.start();
    expect(reader.get('count')).toBe(60_000);
    expect(reader.position).toBeGreaterThan(60_000); // the offsets skipped the boundaries' chunks
    expect([writerLog.gaps, readerLog.gaps]).toEqual([0, 0]);
    expect(errors).toEqual([]);
  }, 120_000);

  it('logs an error when entries a replica needs are gone from the stream', async () => {
    const prefix = suitePrefix('stream-retention');
    prefixes.push(prefix);
    // Retention by size: 100 kB in 20 kB segments, so old segments go while we write.
    const options = { segmentBytes: 20_000, maxLengthBytes: 100_000, snapshotEvery: 1_000_000_000 };
    const writer = new ReplicatedStore(open('writer', options, prefix));
    await writer.start();
    // In batches small enough that the writer's own replica never lags by a retention's worth.
    for (let i = 0; i < 5_000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => writer.increment('count', 1)));
    }
    expect(writer.get('count')).toBe(5_000);

    // A replica that applied entries up to 5 (as if from an old snapshot) and comes back now.
    const applied: number[] = [];
    const stale: Replica = {
      position: 5,
      restore: () => undefined,
      apply: (_entry: LogEntry, position: number) => void applied.push(position),
      snapshot: () => ({ position: 5, values: [], maps: [], sets: [], recent: [] }),
    };
    const staleLog = open('stale', options, prefix);
    await staleLog.start(stale);
    await eventually(() => applied.length > 0, 'the stale replica to read the stream', 10_000);
    expect(applied[0]).toBeGreaterThan(7);
    expect(staleLog.gaps).toBe(1);
    expect(errors).toEqual([expect.stringContaining('retention outran the snapshots')]);
  }, 60_000);
});
