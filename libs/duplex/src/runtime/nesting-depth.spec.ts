import { describe, expect, it } from '@jest/globals';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from './nesting-depth';

const nested = (depth: number, inner: unknown = 1): unknown => JSON.parse('['.repeat(depth) + JSON.stringify(inner) + ']'.repeat(depth));

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, the outermost as 1, and not scalars', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan('[[[]]]', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan([], 1)).toBe(false);
    expect(nestsDeeperThan([[1]], 1)).toBe(true);
    expect(nestsDeeperThan([[1]], 2)).toBe(false);
    expect(nestsDeeperThan([1, { a: [{ b: 2 }] }], 3)).toBe(true);
    expect(nestsDeeperThan([1, { a: [{ b: 2 }] }], 4)).toBe(false);
  });

  it('finds depth anywhere, not only along the first branch', () => {
    for (const wide of [[nested(10), ...Array.from({ length: 1000 }, () => [1, 2])], [...Array.from({ length: 1000 }, () => ({ a: 1 })), nested(10)]]) {
      expect(nestsDeeperThan(wide, 10)).toBe(true);
      expect(nestsDeeperThan(wide, 11)).toBe(false);
    }
  });

  it('takes the limit exactly, and answers for 100,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan(nested(MAX_NESTING_DEPTH), MAX_NESTING_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_NESTING_DEPTH + 1), MAX_NESTING_DEPTH)).toBe(true);
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(nestsDeeperThan(deep, MAX_NESTING_DEPTH)).toBe(true);
    const objects = JSON.parse('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000));
    expect(nestsDeeperThan(objects, MAX_NESTING_DEPTH)).toBe(true);
  });
});
