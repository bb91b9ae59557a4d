import type { BusStats } from './bus';
import { BusAddress, statsKey } from './bus-address';

/** Counters shared by the bus implementations. */
export class BusCounters {
  private readonly delivered: Record<string, number> = {};
  published = 0;
  reconnects = 0;

  delivery(address: BusAddress): void {
    const key = statsKey(address);
    this.delivered[key] = (this.delivered[key] ?? 0) + 1;
  }

  snapshot(): BusStats {
    return { delivered: { ...this.delivered }, published: this.published, reconnects: this.reconnects };
  }
}
