import { describe, expect, it } from '@jest/globals';
import type { Ack } from '@nest-duplex/protocol';
import { CallOutcomes } from './call-outcomes';

const settle = () => new Promise((r) => setImmediate(r));

describe('CallOutcomes', () => {
  it('answers a resend with the first outcome, success or failure', async () => {
    const outcomes = new CallOutcomes(10);
    const refused: Ack = { ok: false, error: { code: 'CONFLICT', message: 'taken' } };
    outcomes.record('a', Promise.resolve({ ok: true, result: 1 }));
    outcomes.record('b', Promise.resolve(refused));
    await settle();
    await expect(outcomes.get('a')).resolves.toEqual({ ok: true, result: 1 });
    await expect(outcomes.get('b')).resolves.toEqual(refused);
    expect(outcomes.settled().map(([id]) => id)).toEqual(['a', 'b']);
  });

  it('forgets a TIMEOUT, which is no outcome: a resend runs the call again to its end', async () => {
    const outcomes = new CallOutcomes(10);
    outcomes.record('a', Promise.resolve({ ok: false, error: { code: 'TIMEOUT', message: 'may still apply' } }));
    expect(outcomes.get('a')).toBeDefined(); // while it runs, a resend waits for it
    await settle();
    expect(outcomes.get('a')).toBeUndefined();
    expect(outcomes.settled()).toEqual([]);
  });

  it('keeps the newest capacity outcomes', async () => {
    const outcomes = new CallOutcomes(2);
    for (const id of ['a', 'b', 'c']) outcomes.record(id, Promise.resolve({ ok: true }));
    await settle();
    expect(outcomes.get('a')).toBeUndefined();
    expect(outcomes.settled().map(([id]) => id)).toEqual(['b', 'c']);
  });
});
