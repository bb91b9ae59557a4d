import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('gives a burst at once, then refuses, and says how long until the next token', () => {
    const bucket = new TokenBucket(1, 5); // one token a second: the takes below happen well within it
    expect(Array.from({ length: 8 }, () => bucket.take())).toEqual([true, true, true, true, true, false, false, false]);
    expect(bucket.msUntilNext()).toBeGreaterThan(0);
    expect(bucket.msUntilNext()).toBeLessThanOrEqual(1_000);
  });

  it('refills at its rate', async () => {
    const bucket = new TokenBucket(200, 1); // a token every 5 ms
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(bucket.msUntilNext()).toBe(0);
    expect(bucket.take()).toBe(true);
  });
});
