import { describe, expect, it } from '@jest/globals';
import { SerialQueue } from './serial-queue';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SerialQueue', () => {
  it('runs tasks one at a time, in order, even when earlier ones are slower', async () => {
    const queue = new SerialQueue(10);
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([queue.run(task('a', 20)), queue.run(task('b', 1)), queue.run(task('c', 5))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('keeps going after a task fails', async () => {
    const queue = new SerialQueue(10);
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run(async () => 42)).resolves.toBe(42);
    expect(queue.size).toBe(0);
  });

  it('refuses work beyond its limit with UNAVAILABLE', async () => {
    const queue = new SerialQueue(2);
    const gate = tick(10);
    const first = queue.run(() => gate);
    const second = queue.run(() => gate);
    expect(() => queue.run(async () => 1)).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    await Promise.all([first, second]);
    await expect(queue.run(async () => 1)).resolves.toBe(1);
  });
});
