import { DuplexError } from '@nest-duplex/protocol';

/**
 * Runs tasks one after another (WCF's ConcurrencyMode.Single for a session).
 * Bounded, so one flooding client cannot grow the node's memory without end.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.pending;
  }

  /** Throws at once (not through the promise) when full, so a caller can refuse before accepting. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.pending >= this.limit) {
      throw new DuplexError('UNAVAILABLE', `more than ${this.limit} calls pending for this session`);
    }
    this.pending++;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }
}
