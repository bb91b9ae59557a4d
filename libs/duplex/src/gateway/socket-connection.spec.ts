import { describe, expect, it } from '@jest/globals';
import { MAX_NESTING_DEPTH } from '../runtime/nesting-depth';
import { toAck } from './socket-connection';

const frame = { service: 'echo', method: 'answer' };
const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

describe('toAck (a client\'s answer to a request-reply callback)', () => {
  it('passes a well-formed answer through', () => {
    expect(toAck({ ok: true, result: 'yes' }, frame)).toEqual({ ok: true, result: 'yes' });
    expect(toAck({ ok: true }, frame)).toEqual({ ok: true, result: undefined });
    expect(toAck({ ok: true, result: nested(MAX_NESTING_DEPTH) }, frame)).toMatchObject({ ok: true });
    expect(toAck({ ok: false, error: { code: 'CONFLICT', message: 'taken' } }, frame)).toEqual({
      ok: false,
      error: { code: 'CONFLICT', message: 'taken' },
    });
    // The code is what matters; a missing message is filled in.
    expect(toAck({ ok: false, error: { code: 'INTERNAL' } }, frame)).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'remote error' } });
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'yes'],
    ['ok not a boolean', { ok: 'true', result: 'yes' }],
    ['no ok', { result: 'yes' }],
    ['no error', { ok: false }],
    ['error a string', { ok: false, error: 'boom' }],
    ['error null', { ok: false, error: null }],
    ['error an array', { ok: false, error: ['CONFLICT'] }],
    ['error without code', { ok: false, error: { message: 'boom' } }],
    ['an unknown code', { ok: false, error: { code: 'NOPE', message: 'boom' } }],
    ['a numeric code', { ok: false, error: { code: 409, message: 'boom' } }],
    ['a result nested too deep', { ok: true, result: nested(MAX_NESTING_DEPTH + 1) }],
    ['a result nested 100,000 deep', { ok: true, result: nested(100_000) }],
  ])('turns %s into BAD_REQUEST naming the callback', (_, answer) => {
    expect(toAck(answer, frame)).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('client answered echo.answer with') },
    });
  });
});
