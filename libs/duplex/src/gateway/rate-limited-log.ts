/**
 * At most one line per `windowMs`, however many events: the first event of a
 * quiet spell is written at once; the ones after it within the window are
 * counted, and when the window ends one line says how many there were (and
 * the last of them), which opens the next window. A flood of bad frames thus
 * costs the log one line per window, and nothing goes unmentioned.
 */
export class RateLimitedLog {
  private timer: NodeJS.Timeout | null = null;
  private suppressed = 0;
  private last = '';

  constructor(
    private readonly write: (line: string) => void,
    readonly windowMs = 10_000,
  ) {}

  note(line: string): void {
    if (this.timer) {
      this.suppressed++;
      this.last = line;
      return;
    }
    this.write(line);
    this.open();
  }

  /** Drops the window without writing what it counted (the node is stopping). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.suppressed = 0;
  }

  private open(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.suppressed === 0) return;
      const count = this.suppressed;
      this.suppressed = 0;
      this.write(`${count} more in the last ${this.windowMs / 1000} s, the last: ${this.last}`);
      this.open();
    }, this.windowMs);
    this.timer.unref();
  }
}
