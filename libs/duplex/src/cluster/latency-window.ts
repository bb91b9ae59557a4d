export interface LatencySummary {
  /** Samples recorded since start (the percentiles cover the most recent ones). */
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Milliseconds since the epoch with sub-millisecond precision; comparable across processes of one host. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

/** The most recent latency samples, in a fixed ring: recording costs no allocation. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(size = 2_048) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.count++ % this.samples.length] = ms;
  }

  /** Percentiles of the most recent `recent` samples (all held ones by default). */
  summary(recent = Infinity): LatencySummary {
    const size = this.samples.length;
    const n = Math.max(0, Math.min(recent, this.count, size));
    const held = new Float64Array(n);
    for (let i = 0; i < n; i++) held[i] = this.samples[(this.count - n + i) % size];
    held.sort();
    const at = (q: number) => (held.length ? round(held[Math.min(held.length - 1, Math.floor(q * held.length))]) : 0);
    return { count: this.count, p50: at(0.5), p99: at(0.99), max: held.length ? round(held[held.length - 1]) : 0 };
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
