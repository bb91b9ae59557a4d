/** Latency summary of one measured series (ms). */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

export const round = (n: number) => Math.round(n * 100) / 100;
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Runs `total` operations with at most `window` in flight; answers operations per second. */
export async function throughput(total: number, window: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return round((total / (now() - started)) * 1000);
}

/** Times `count` operations one after another. */
export async function sequential(count: number, op: (i: number) => Promise<unknown>): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = now();
    await op(i);
    samples.push(now() - started);
  }
  return summarize(samples);
}
