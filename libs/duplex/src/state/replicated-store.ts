import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LatencyWindow } from '../cluster/latency-window';
import { DuplexError } from '@nest-duplex/protocol';
import { derivedId } from './idempotency-scope';
import type { ReplicationLog } from './replication-log';
import type { IncrementResult, Json, LogEntry, StateCommand } from './state-command';
import { StateMachine, type StateSnapshot } from './state-machine';

interface PendingCommand {
  /** The promise its callers wait on. */
  settled: Promise<unknown>;
  resolve(result: unknown): void;
  reject(error: DuplexError): void;
  timer: NodeJS.Timeout;
  startedAt: number;
}

/** How long a write waits out an unavailable log before TIMEOUT; a call's callbacks wait as long (CallbackRouter). */
export const OUTAGE_WAIT_MS = 15_000;

export interface StoreOptions {
  /** How long a write may wait to be applied, retries included (ms). */
  commandTimeoutMs?: number;
  /** Pause between append retries while the log is unavailable (ms). */
  retryDelayMs?: number;
}

/**
 * The state services share across the cluster. Reads are local and
 * immediate. A write is appended to the replicated log and resolves with its
 * result when this node applies it, so a session always reads its own writes.
 * An append that fails is retried with the same entry id until the timeout:
 * the log applies an id once, so a retry never applies a change twice.
 */
export class ReplicatedStore {
  private readonly logger = new Logger(ReplicatedStore.name);
  private readonly machine = new StateMachine();
  private readonly pending = new Map<string, PendingCommand>();
  /** Unique per process, so ids never repeat across restarts of a node. */
  private readonly idPrefix = randomUUID();
  private sequence = 0;
  private caughtUp = false;
  /** From a write's append to its application here: how far this replica lags the log. */
  readonly writeLatency = new LatencyWindow();
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly log: ReplicationLog,
    options: StoreOptions = {},
  ) {
    this.timeoutMs = options.commandTimeoutMs ?? OUTAGE_WAIT_MS;
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  /** True once the replica has caught up with the log, and while the log is reachable. */
  get ready(): boolean {
    return this.caughtUp && this.log.connected;
  }

  /** Position of the last entry applied here. */
  get position(): number {
    return this.machine.position;
  }

  /** Starts applying the log, then waits until this replica has caught up with it. */
  async start(): Promise<void> {
    const machine = this.machine;
    await this.log.start({
      get position() {
        return machine.position;
      },
      restore: (snapshot: StateSnapshot) => machine.restore(snapshot),
      apply: (entry: LogEntry, position: number) => this.applied(entry, position),
      snapshot: () => machine.snapshot(),
    });
    // A barrier: when our own no-op comes back, everything before it has been applied.
    await this.execute({ op: 'noop' }).catch((error: DuplexError) => {
      throw new Error(
        `the shared state did not catch up within ${this.timeoutMs} ms: its log ${this.log.connected ? 'did not confirm' : 'was never reachable'} (${error.message}); the warnings above say what each broker answered`,
      );
    });
    this.caughtUp = true;
    this.logger.log(`state caught up at position ${this.machine.position}`);
  }

  close(): Promise<void> {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new DuplexError('UNAVAILABLE', 'the node is shutting down'));
      this.pending.delete(id);
    }
    return this.log.close();
  }

  // ---- local reads ----------------------------------------------------

  get<T extends Json>(key: string): T | undefined {
    return this.machine.get(key) as T | undefined;
  }

  mapGet<T extends Json>(key: string, field: string): T | undefined {
    return this.machine.mapGet(key, field) as T | undefined;
  }

  mapEntries<T extends Json>(key: string): Array<[string, T]> {
    return this.machine.mapEntries(key) as Array<[string, T]>;
  }

  setMembers(key: string): string[] {
    return this.machine.setMembers(key);
  }

  // ---- replicated writes ----------------------------------------------

  async set(key: string, value: Json): Promise<void> {
    await this.execute({ op: 'set', key, value });
  }

  setIfAbsent(key: string, value: Json): Promise<boolean> {
    return this.execute({ op: 'setIfAbsent', key, value }) as Promise<boolean>;
  }

  /** `expected` null means absent; `value` null deletes. */
  compareAndSet(key: string, expected: Json, value: Json): Promise<boolean> {
    return this.execute({ op: 'compareAndSet', key, expected, value }) as Promise<boolean>;
  }

  delete(key: string): Promise<boolean> {
    return this.execute({ op: 'delete', key }) as Promise<boolean>;
  }

  /** Adds `by`; refused (unchanged, `applied: false`) if the result would leave [min, max]. */
  increment(key: string, by: number, bounds: { min?: number; max?: number } = {}): Promise<IncrementResult> {
    return this.execute({ op: 'increment', key, by, ...bounds }) as Promise<IncrementResult>;
  }

  async mapSet(key: string, field: string, value: Json): Promise<void> {
    await this.execute({ op: 'mapSet', key, field, value });
  }

  mapSetIfAbsent(key: string, field: string, value: Json): Promise<boolean> {
    return this.execute({ op: 'mapSetIfAbsent', key, field, value }) as Promise<boolean>;
  }

  mapCompareAndSet(key: string, field: string, expected: Json, value: Json): Promise<boolean> {
    return this.execute({ op: 'mapCompareAndSet', key, field, expected, value }) as Promise<boolean>;
  }

  mapDelete(key: string, field: string): Promise<boolean> {
    return this.execute({ op: 'mapDelete', key, field }) as Promise<boolean>;
  }

  setAdd(key: string, member: string): Promise<boolean> {
    return this.execute({ op: 'setAdd', key, member }) as Promise<boolean>;
  }

  setRemove(key: string, member: string): Promise<boolean> {
    return this.execute({ op: 'setRemove', key, member }) as Promise<boolean>;
  }

  // ---- the write path ---------------------------------------------------

  private execute(command: StateCommand): Promise<unknown> {
    // Inside a retried call the id comes from the call, so the retry applies once.
    const id = derivedId(() => JSON.stringify(command)) ?? `${this.idPrefix}:${++this.sequence}`;
    // Two runs of one call here at once (a rerun while the first still runs) wait for the same write.
    const inFlight = this.pending.get(id);
    if (inFlight) return inFlight.settled;
    const entry: LogEntry = { id, command };
    const pending = { startedAt: performance.now() } as PendingCommand;
    pending.settled = new Promise<unknown>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      pending.timer = setTimeout(() => {
        this.pending.delete(entry.id);
        reject(new DuplexError('TIMEOUT', `state change ${command.op} not confirmed within ${this.timeoutMs} ms; it may still apply`));
      }, this.timeoutMs);
    });
    this.pending.set(entry.id, pending);
    void this.append(entry);
    return pending.settled;
  }

  private async append(entry: LogEntry): Promise<void> {
    while (this.pending.has(entry.id)) {
      try {
        await this.log.append(entry);
        return;
      } catch (error) {
        this.logger.debug(`append of ${entry.id} failed (${(error as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, this.retryDelayMs));
      }
    }
  }

  private applied(entry: LogEntry, position: number): void {
    if (position <= this.machine.position) return; // already in the snapshot, or seen before a reconnect
    const { result } = this.machine.apply(entry, position);
    const pending = this.pending.get(entry.id);
    if (!pending) return;
    this.pending.delete(entry.id);
    clearTimeout(pending.timer);
    this.writeLatency.record(performance.now() - pending.startedAt);
    pending.resolve(result);
  }
}
