import { describe, expect, it } from '@jest/globals';
import { LatencyWindow } from './latency-window';

describe('LatencyWindow', () => {
  it('summarizes what it recorded', () => {
    const window = new LatencyWindow(1_000);
    for (let ms = 1; ms <= 100; ms++) window.record(ms);
    expect(window.summary()).toEqual({ count: 100, p50: 51, p99: 100, max: 100 });
  });

  it('keeps only the most recent samples once full, and counts them all', () => {
    const window = new LatencyWindow(4);
    for (const ms of [90, 90, 90, 90, 1, 2, 3, 4]) window.record(ms);
    expect(window.summary()).toEqual({ count: 8, p50: 3, p99: 4, max: 4 });
  });

  it('summarizes only the most recent samples when asked, within what it holds', () => {
    const window = new LatencyWindow(4);
    for (const ms of [90, 90, 90, 1, 2, 3]) window.record(ms);
    expect(window.summary(3)).toEqual({ count: 6, p50: 2, p99: 3, max: 3 });
    expect(window.summary(1)).toEqual({ count: 6, p50: 3, p99: 3, max: 3 });
    expect(window.summary(100)).toEqual({ count: 6, p50: 3, p99: 90, max: 90 });
    expect(window.summary(0)).toEqual({ count: 6, p50: 0, p99: 0, max: 0 });
  });

  it('answers zeros before the first sample', () => {
    expect(new LatencyWindow().summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });
});
