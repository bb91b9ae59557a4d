import { describe, expect, it } from '@jest/globals';
import { ReplayWindow } from './replay-window';

describe('ReplayWindow', () => {
  it('numbers frames from 1 and answers those after a seq', () => {
    const window = new ReplayWindow<string>(10);
    expect(['a', 'b', 'c'].map((f) => window.push(f))).toEqual([1, 2, 3]);
    expect([...window.after(1)]).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
    expect([...window.after(3)]).toEqual([]);
  });

  it('numbers on from where another window left off, holding nothing before it', () => {
    const window = new ReplayWindow<string>(3, 41);
    expect(window.lastSeq).toBe(41);
    expect(window.oldestSeq).toBe(42);
    expect([...window.after(41)]).toEqual([]);
    expect(['a', 'b', 'c', 'd'].map((f) => window.push(f))).toEqual([42, 43, 44, 45]);
    expect([...window.after(0)]).toEqual([
      ['b', 43],
      ['c', 44],
      ['d', 45],
    ]);
  });

  it('keeps only the newest `capacity` frames as it wraps around', () => {
    const window = new ReplayWindow<number>(3);
    for (let n = 1; n <= 8; n++) window.push(n);
    expect(window.oldestSeq).toBe(6);
    expect([...window.after(0)]).toEqual([
      [6, 6],
      [7, 7],
      [8, 8],
    ]);
    expect([...window.after(6)].map(([, seq]) => seq)).toEqual([7, 8]);
  });

  it('still numbers frames with a window of 0', () => {
    const window = new ReplayWindow<number>(0);
    expect(window.push(1)).toBe(1);
    expect(window.push(2)).toBe(2);
    expect(window.oldestSeq).toBe(3);
    expect([...window.after(0)]).toEqual([]);
  });

  it('answers correctly while growing, at the moment it fills, and after wrapping many times', () => {
    const window = new ReplayWindow<number>(4);
    for (let n = 1; n <= 11; n++) {
      window.push(n);
      const held = [...window.after(0)].map(([frame]) => frame);
      expect(held).toEqual(Array.from({ length: Math.min(n, 4) }, (_, i) => Math.max(n - 4, 0) + i + 1));
      expect([...window.after(n - 1)]).toEqual([[n, n]]);
    }
  });
});
