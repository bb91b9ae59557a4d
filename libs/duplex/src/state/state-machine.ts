import type { IncrementResult, Json, LogEntry, StateCommand } from './state-command';

export interface StateSnapshot {
  /** Position of the last entry applied (-1: none). */
  position: number;
  values: Array<[string, Json]>;
  maps: Array<[string, Array<[string, Json]>]>;
  sets: Array<[string, string[]]>;
  /** The last DEDUPE_WINDOW entry ids applied, with what each answered. */
  recent?: Array<[string, unknown]>;
  /** The same, as snapshots before results were kept wrote it: ids only. */
  recentIds?: string[];
}

/** How many entry ids a replica remembers to drop duplicates. Part of the state, so identical everywhere. */
export const DEDUPE_WINDOW = 100_000;

/**
 * One replica's state, and the only code that changes it. Pure and
 * deterministic: no clock, no randomness, no I/O.
 */
export class StateMachine {
  private values = new Map<string, Json>();
  private maps = new Map<string, Map<string, Json>>();
  private sets = new Map<string, Set<string>>();
  /** Recent entry ids and their results, oldest first. */
  private recent = new Map<string, unknown>();
  position = -1;

  /**
   * Applies an entry at a log position. A duplicate id changes nothing and
   * answers what the first entry with that id answered, so a retried write
   * (a call resent after a reconnect, on any node) learns the same outcome.
   */
  apply(entry: LogEntry, position: number): { duplicate: boolean; result: unknown } {
    this.position = position;
    if (this.recent.has(entry.id)) return { duplicate: true, result: this.recent.get(entry.id) ?? null };
    const result = this.execute(entry.command);
    this.recent.set(entry.id, result);
    if (this.recent.size > DEDUPE_WINDOW) this.recent.delete(this.recent.keys().next().value!);
    return { duplicate: false, result };
  }

  get(key: string): Json | undefined {
    return this.values.get(key);
  }

  mapGet(key: string, field: string): Json | undefined {
    return this.maps.get(key)?.get(field);
  }

  mapEntries(key: string): Array<[string, Json]> {
    return [...(this.maps.get(key) ?? [])];
  }

  setMembers(key: string): string[] {
    return [...(this.sets.get(key) ?? [])];
  }

  snapshot(): StateSnapshot {
    return {
      position: this.position,
      values: [...this.values],
      maps: [...this.maps].map(([key, fields]) => [key, [...fields]]),
      sets: [...this.sets].map(([key, members]) => [key, [...members]]),
      recent: [...this.recent],
    };
  }

  restore(snapshot: StateSnapshot): void {
    this.position = snapshot.position;
    this.values = new Map(snapshot.values);
    this.maps = new Map(snapshot.maps.map(([key, fields]) => [key, new Map(fields)]));
    this.sets = new Map(snapshot.sets.map(([key, members]) => [key, new Set(members)]));
    this.recent = new Map(snapshot.recent ?? (snapshot.recentIds ?? []).map((id) => [id, null]));
  }

  private execute(command: StateCommand): unknown {
    switch (command.op) {
      case 'set':
        this.values.set(command.key, command.value);
        return null;
      case 'setIfAbsent':
        if (this.values.has(command.key)) return false;
        this.values.set(command.key, command.value);
        return true;
      case 'compareAndSet':
        return compareAndSet(this.values, command.key, command.expected, command.value);
      case 'delete':
        return this.values.delete(command.key);
      case 'increment':
        return this.increment(command);
      case 'mapSet':
        this.map(command.key).set(command.field, command.value);
        return null;
      case 'mapSetIfAbsent': {
        const map = this.map(command.key);
        if (map.has(command.field)) return false;
        map.set(command.field, command.value);
        return true;
      }
      case 'mapCompareAndSet': {
        const changed = compareAndSet(this.map(command.key), command.field, command.expected, command.value);
        this.dropIfEmpty(this.maps, command.key);
        return changed;
      }
      case 'mapDelete': {
        const deleted = this.maps.get(command.key)?.delete(command.field) ?? false;
        this.dropIfEmpty(this.maps, command.key);
        return deleted;
      }
      case 'setAdd': {
        let set = this.sets.get(command.key);
        if (!set) this.sets.set(command.key, (set = new Set()));
        if (set.has(command.member)) return false;
        set.add(command.member);
        return true;
      }
      case 'setRemove': {
        const removed = this.sets.get(command.key)?.delete(command.member) ?? false;
        this.dropIfEmpty(this.sets, command.key);
        return removed;
      }
      case 'noop':
        return null;
    }
  }

  private increment(command: Extract<StateCommand, { op: 'increment' }>): IncrementResult {
    const current = this.values.get(command.key);
    const value = typeof current === 'number' ? current : 0;
    const next = value + command.by;
    if ((command.min !== undefined && next < command.min) || (command.max !== undefined && next > command.max)) {
      return { applied: false, value };
    }
    this.values.set(command.key, next);
    return { applied: true, value: next };
  }

  private map(key: string): Map<string, Json> {
    let map = this.maps.get(key);
    if (!map) this.maps.set(key, (map = new Map()));
    return map;
  }

  private dropIfEmpty(container: Map<string, { size: number }>, key: string): void {
    if (container.get(key)?.size === 0) container.delete(key);
  }
}

function compareAndSet(target: Map<string, Json>, key: string, expected: Json, value: Json): boolean {
  const current = target.has(key) ? target.get(key)! : null;
  if (!sameJson(current, expected)) return false;
  if (value === null) target.delete(key);
  else target.set(key, value);
  return true;
}

/** Structural equality of JSON values, blind to object key order. */
export function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as Json[];
    return a.length === other.length && a.every((item, i) => sameJson(item, other[i]));
  }
  const left = a as Record<string, Json>;
  const right = b as Record<string, Json>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((k) => Object.hasOwn(right, k) && sameJson(left[k], right[k]));
}
