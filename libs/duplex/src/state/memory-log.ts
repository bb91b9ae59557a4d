import { DuplexError } from '@nest-duplex/protocol';
import type { Replica, ReplicationLog } from './replication-log';
import type { LogEntry } from './state-command';

/** The in-process log that memory logs share: one per process by default; tests make their own. */
export class MemoryLogStore {
  readonly entries: LogEntry[] = [];
  readonly replicas = new Set<Replica>();

  append(entry: LogEntry): void {
    const position = this.entries.push(structuredClone(entry)) - 1;
    // Asynchronous, as on a real log; FIFO, so every replica sees one order.
    for (const replica of this.replicas) queueMicrotask(() => replica.apply(structuredClone(entry), position));
  }

  static readonly shared = new MemoryLogStore();
}

/** The embedded default: the same API as the stream log, no broker. */
export class MemoryLog implements ReplicationLog {
  private replica: Replica | null = null;

  constructor(private readonly store: MemoryLogStore = MemoryLogStore.shared) {}

  get connected(): boolean {
    return this.replica !== null;
  }

  async start(replica: Replica): Promise<void> {
    this.replica = replica;
    this.store.entries.forEach((entry, position) => replica.apply(structuredClone(entry), position));
    this.store.replicas.add(replica);
  }

  async append(entry: LogEntry): Promise<void> {
    if (!this.replica) throw new DuplexError('UNAVAILABLE', 'the state log is not started');
    this.store.append(entry);
  }

  async close(): Promise<void> {
    if (this.replica) this.store.replicas.delete(this.replica);
    this.replica = null;
  }
}
