import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('gives a burst at once, then refuses until it refills at its rate', async () => {
    const bucket = new TokenBucket(100, 5);
    const first = Array.from({ length: 8 }, () => bucket.take());
    expect(first).toEqual([true, true, true, true, true, false, false, false]);
    await new Promise((resolve) => setTimeout(resolve, 30)); // 3 tokens at 100/s
    const after = Array.from({ length: 5 }, () => bucket.take()).filter(Boolean).length;
    expect(after).toBeGreaterThanOrEqual(2);
    expect(bucket.msUntilNext()).toBeGreaterThan(0);
    expect(bucket.msUntilNext()).toBeLessThanOrEqual(10); // one token at 100/s
  });
});
