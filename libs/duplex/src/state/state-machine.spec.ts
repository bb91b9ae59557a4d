import { describe, expect, it } from '@jest/globals';
import type { LogEntry, StateCommand } from './state-command';
import { sameJson, StateMachine } from './state-machine';

let counter = 0;
const entry = (command: StateCommand, id = `e${++counter}`): LogEntry => ({ id, command });
const run = (machine: StateMachine, command: StateCommand) => machine.apply(entry(command), machine.position + 1).result;

describe('StateMachine', () => {
  it('sets, sets if absent, compares and sets, deletes', () => {
    const m = new StateMachine();
    expect(run(m, { op: 'setIfAbsent', key: 'k', value: 1 })).toBe(true);
    expect(run(m, { op: 'setIfAbsent', key: 'k', value: 2 })).toBe(false);
    expect(m.get('k')).toBe(1);
    expect(run(m, { op: 'compareAndSet', key: 'k', expected: 2, value: 3 })).toBe(false);
    expect(run(m, { op: 'compareAndSet', key: 'k', expected: 1, value: 3 })).toBe(true);
    expect(run(m, { op: 'compareAndSet', key: 'k', expected: 3, value: null })).toBe(true);
    expect(m.get('k')).toBeUndefined();
    expect(run(m, { op: 'compareAndSet', key: 'k', expected: null, value: 'x' })).toBe(true);
    expect(run(m, { op: 'set', key: 'k', value: { a: 1 } })).toBeNull();
    expect(run(m, { op: 'delete', key: 'k' })).toBe(true);
    expect(run(m, { op: 'delete', key: 'k' })).toBe(false);
  });

  it('increments within bounds and refuses, unchanged, beyond them', () => {
    const m = new StateMachine();
    expect(run(m, { op: 'increment', key: 'beer', by: 2, min: 0 })).toEqual({ applied: true, value: 2 });
    expect(run(m, { op: 'increment', key: 'beer', by: -3, min: 0 })).toEqual({ applied: false, value: 2 });
    expect(run(m, { op: 'increment', key: 'beer', by: -2, min: 0 })).toEqual({ applied: true, value: 0 });
    expect(run(m, { op: 'increment', key: 'beer', by: 5, max: 4 })).toEqual({ applied: false, value: 0 });
    expect(m.get('beer')).toBe(0);
  });

  it('keeps map fields and set members', () => {
    const m = new StateMachine();
    expect(run(m, { op: 'mapSetIfAbsent', key: 'show', field: 'A1', value: { s: 'x' } })).toBe(true);
    expect(run(m, { op: 'mapSetIfAbsent', key: 'show', field: 'A1', value: { s: 'y' } })).toBe(false);
    expect(run(m, { op: 'mapCompareAndSet', key: 'show', field: 'A1', expected: { s: 'y' }, value: null })).toBe(false);
    expect(run(m, { op: 'mapCompareAndSet', key: 'show', field: 'A1', expected: { s: 'x' }, value: { s: 'x', b: true } })).toBe(true);
    run(m, { op: 'mapSet', key: 'show', field: 'A2', value: 1 });
    expect(m.mapEntries('show')).toEqual([['A1', { s: 'x', b: true }], ['A2', 1]]);
    expect(run(m, { op: 'mapDelete', key: 'show', field: 'A2' })).toBe(true);
    expect(m.mapGet('show', 'A2')).toBeUndefined();
    expect(run(m, { op: 'setAdd', key: 'guests', member: 'ann' })).toBe(true);
    expect(run(m, { op: 'setAdd', key: 'guests', member: 'ann' })).toBe(false);
    expect(run(m, { op: 'setRemove', key: 'guests', member: 'ann' })).toBe(true);
    expect(m.setMembers('guests')).toEqual([]);
  });

  it('applies an entry id once, however often it is appended', () => {
    const m = new StateMachine();
    const twice = entry({ op: 'increment', key: 'n', by: 1 }, 'same-id');
    expect(m.apply(twice, 0)).toEqual({ duplicate: false, result: { applied: true, value: 1 } });
    expect(m.apply(twice, 1)).toEqual({ duplicate: true, result: { applied: true, value: 1 } }); // what the first one answered
    expect(m.get('n')).toBe(1);
  });

  it('restores from a snapshot to the same state, dedupe memory included', () => {
    const m = new StateMachine();
    run(m, { op: 'set', key: 'a', value: [1, 2] });
    run(m, { op: 'mapSet', key: 'm', field: 'f', value: 'v' });
    run(m, { op: 'setAdd', key: 's', member: 'x' });
    m.apply(entry({ op: 'increment', key: 'n', by: 1 }, 'known'), m.position + 1);
    const copy = new StateMachine();
    copy.restore(JSON.parse(JSON.stringify(m.snapshot())));
    expect(copy.snapshot()).toEqual(m.snapshot());
    expect(copy.apply(entry({ op: 'increment', key: 'n', by: 1 }, 'known'), 99)).toEqual({ duplicate: true, result: { applied: true, value: 1 } });
  });

  it('restores a snapshot written before results were kept: its ids still dedupe', () => {
    const copy = new StateMachine();
    copy.restore({ position: 3, values: [['n', 1]], maps: [], sets: [], recentIds: ['known'] });
    expect(copy.apply(entry({ op: 'increment', key: 'n', by: 1 }, 'known'), 4)).toEqual({ duplicate: true, result: null });
    expect(copy.get('n')).toBe(1);
  });

  it('compares JSON structurally, ignoring key order', () => {
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
    expect(sameJson(null, {})).toBe(false);
  });
});
