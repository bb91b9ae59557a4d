import type { LogEntry } from './state-command';
import type { StateSnapshot } from './state-machine';

/** What a log drives: the local replica. */
export interface Replica {
  /** Position of the last entry applied (-1: none). */
  readonly position: number;
  /** Replaces the state with a snapshot (catch-up of a fresh replica). */
  restore(snapshot: StateSnapshot): void;
  /** Applies the entry at `position`; positions only grow. */
  apply(entry: LogEntry, position: number): void;
  snapshot(): StateSnapshot;
}

/**
 * An ordered, durable, shared log of state commands. Every node appends to
 * it and applies all of it, in order, to its replica.
 */
export interface ReplicationLog {
  readonly connected: boolean;
  /** Loads a snapshot if the replica is fresh, then applies the log from the replica's position on. */
  start(replica: Replica): Promise<void>;
  /** Resolves once the entry is durably in the log; rejects (UNAVAILABLE) if that is not certain. */
  append(entry: LogEntry): Promise<void>;
  close(): Promise<void>;
}

export const REPLICATION_LOG = Symbol('duplex:replication-log');
