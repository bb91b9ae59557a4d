import { afterEach, describe, expect, it } from '@jest/globals';
import { DuplexError } from '@nest-duplex/protocol';
import { idempotencyScope } from './idempotency-scope';
import { MemoryLog, MemoryLogStore } from './memory-log';
import { ReplicatedStore } from './replicated-store';
import type { Replica, ReplicationLog } from './replication-log';
import type { LogEntry } from './state-command';

describe('ReplicatedStore on the memory log', () => {
  const stores: ReplicatedStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  const replicas = async (count: number, log = new MemoryLogStore()) => {
    const started = Array.from({ length: count }, () => new ReplicatedStore(new MemoryLog(log)));
    stores.push(...started);
    await Promise.all(started.map((s) => s.start()));
    return started;
  };

  /** A memory log whose appends go through `append`, which decides whether and when the real one happens. */
  const logWith = (append: (entry: LogEntry, inner: MemoryLog) => Promise<void>): ReplicationLog => {
    const inner = new MemoryLog(new MemoryLogStore());
    return {
      get connected() {
        return inner.connected;
      },
      start: (replica: Replica) => inner.start(replica),
      close: () => inner.close(),
      append: (entry: LogEntry) => append(entry, inner),
    };
  };

  it('gives every replica the same state and each writer its own result', async () => {
    const [a, b, c] = await replicas(3);
    const results = await Promise.all([a, b, c].flatMap((s) => [s.setIfAbsent('seat', 'x'), s.setIfAbsent('seat', 'y')]));
    expect(results.filter(Boolean)).toHaveLength(1);
    await a.set('barrier', 1); // a's own write is applied: everything before it too
    expect(new Set([a, b, c].map((s) => s.get('seat'))).size).toBe(1);
  });

  it('reads its own writes at once', async () => {
    const [a] = await replicas(1);
    await a.increment('beer', 5, { min: 0 });
    expect(a.get('beer')).toBe(5);
    expect(await a.increment('beer', -6, { min: 0 })).toEqual({ applied: false, value: 5 });
    expect(a.get('beer')).toBe(5);
  });

  it('catches a late replica up on everything before it serves', async () => {
    const log = new MemoryLogStore();
    const [a] = await replicas(1, log);
    for (let i = 0; i < 50; i++) await a.increment('n', 1);
    const [late] = await replicas(1, log);
    expect(late.ready).toBe(true);
    expect(late.get('n')).toBe(50);
  });

  it('retries a failed append with the same id, so the change applies once', async () => {
    let failures = 2;
    const flaky = logWith(async (entry, inner) => {
      await inner.append(entry); // durably appended...
      if (entry.command.op !== 'noop' && failures-- > 0) throw new DuplexError('UNAVAILABLE', 'confirm lost'); // ...but unconfirmed
    });
    const store = new ReplicatedStore(flaky, { retryDelayMs: 5 });
    stores.push(store);
    await store.start();
    expect(await store.increment('n', 1)).toEqual({ applied: true, value: 1 });
    await store.set('barrier', true);
    expect(store.get('n')).toBe(1);
  });

  it('applies the writes of one call once, on any node, and answers a rerun what the first run got', async () => {
    const [a, b] = await replicas(2);
    const call = (store: ReplicatedStore) =>
      idempotencyScope.run({ key: 'session-1:call-1', occurrences: new Map() }, async () => {
        // A conditional write the first run makes and a rerun skips must not shift the others' ids.
        if (store.get('stock') === undefined) await store.setIfAbsent('stock', 10);
        return [await store.increment('stock', -1), await store.increment('stock', -1)];
      });
    const first = await call(a);
    expect(first).toEqual([
      { applied: true, value: 9 },
      { applied: true, value: 8 },
    ]);
    await b.set('barrier', 1);
    expect(await call(b)).toEqual(first); // the rerun on another node
    expect(await Promise.all([call(a), call(a)])).toEqual([first, first]); // two reruns here at once
    await a.set('barrier', 2);
    expect([a.get('stock'), b.get('stock')]).toEqual([8, 8]);
    // Outside a call, the same write is a new one.
    expect(await a.increment('stock', -1)).toEqual({ applied: true, value: 7 });
  });

  it('answers TIMEOUT when the log never takes the change', async () => {
    const down = logWith(async (entry, inner) => {
      if (entry.command.op !== 'noop') throw new DuplexError('UNAVAILABLE', 'down');
      await inner.append(entry);
    });
    const store = new ReplicatedStore(down, { commandTimeoutMs: 100, retryDelayMs: 10 });
    stores.push(store);
    await store.start();
    await expect(store.set('k', 1)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('refuses to start, saying why, when the log never answers', async () => {
    const never = logWith(async () => {
      throw new DuplexError('UNAVAILABLE', 'down');
    });
    const store = new ReplicatedStore(never, { commandTimeoutMs: 100, retryDelayMs: 10 });
    stores.push(store);
    await expect(store.start()).rejects.toThrow(/the shared state did not catch up within 100 ms/);
  });
});
