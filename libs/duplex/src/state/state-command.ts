/** A JSON value the store keeps. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The closed set of state changes. Each is atomic and deterministic: every
 * replica that applies the same sequence computes the same results. In
 * compare-and-set forms, `null` means "absent" (as expected value) and
 * "delete" (as new value).
 */
export type StateCommand =
  | { op: 'set'; key: string; value: Json }
  | { op: 'setIfAbsent'; key: string; value: Json }
  | { op: 'compareAndSet'; key: string; expected: Json; value: Json }
  | { op: 'delete'; key: string }
  | { op: 'increment'; key: string; by: number; min?: number; max?: number }
  | { op: 'mapSet'; key: string; field: string; value: Json }
  | { op: 'mapSetIfAbsent'; key: string; field: string; value: Json }
  | { op: 'mapCompareAndSet'; key: string; field: string; expected: Json; value: Json }
  | { op: 'mapDelete'; key: string; field: string }
  | { op: 'setAdd'; key: string; member: string }
  | { op: 'setRemove'; key: string; member: string }
  /** Changes nothing: appended to learn when a replica has caught up. */
  | { op: 'noop' };

/** What `increment` answers: refused (and unchanged) when the result would leave [min, max]. */
export interface IncrementResult {
  applied: boolean;
  value: number;
}

/** One entry of the replicated log. `id` makes a retried append apply once. */
export interface LogEntry {
  id: string;
  command: StateCommand;
}
