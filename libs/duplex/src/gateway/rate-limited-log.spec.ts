import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { RateLimitedLog } from './rate-limited-log';

describe('RateLimitedLog', () => {
  let lines: string[];
  let log: RateLimitedLog;
  beforeEach(() => {
    jest.useFakeTimers();
    lines = [];
    log = new RateLimitedLog((line) => void lines.push(line), 10_000);
  });
  afterEach(() => {
    log.close();
    jest.useRealTimers();
  });

  it('writes the first event at once and counts the rest of the window in one line at its end', () => {
    log.note('bad frame from a');
    for (let i = 0; i < 999; i++) log.note(`bad frame ${i}`);
    expect(lines).toEqual(['bad frame from a']);
    jest.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toEqual(['bad frame from a', '999 more in the last 10 s, the last: bad frame 998']);
  });

  it('writes at most one line per window through a flood that goes on', () => {
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 100; i++) log.note(`flood ${second}.${i}`);
      jest.advanceTimersByTime(1_000);
    }
    // The first line, then one at the end of each of the six windows.
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe('flood 0.0');
    expect(lines[1]).toBe('999 more in the last 10 s, the last: flood 9.99');
    expect(lines[5]).toBe('1000 more in the last 10 s, the last: flood 49.99');
    expect(lines[6]).toBe('1000 more in the last 10 s, the last: flood 59.99');
  });

  it('writes nothing at the end of a window with nothing after its first event, and the next event at once', () => {
    log.note('one');
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual(['one']);
    jest.advanceTimersByTime(60_000);
    log.note('two');
    expect(lines).toEqual(['one', 'two']);
  });
});
