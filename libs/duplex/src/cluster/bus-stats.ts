import type { BusStats } from './bus';
import { BusAddress, statsKey } from './bus-address';
import { LatencyWindow } from './latency-window';

/** Counters shared by the bus implementations. */
export class BusCounters {
  private readonly delivered: Record<string, number> = {};
  published = 0;
  reconnects = 0;
  /** From publish to the transport's confirm. */
  readonly publishLatency = new LatencyWindow();
  /** From publish on the sending node to delivery on this one: the cluster hop. */
  readonly deliveryLatency = new LatencyWindow();

  delivery(address: BusAddress): void {
    const key = statsKey(address);
    this.delivered[key] = (this.delivered[key] ?? 0) + 1;
  }

  /** `recentLatency`: the latency percentiles cover only that many most recent messages. */
  snapshot(recentLatency?: number): BusStats {
    return {
      delivered: { ...this.delivered },
      published: this.published,
      reconnects: this.reconnects,
      latency: { publish: this.publishLatency.summary(recentLatency), delivery: this.deliveryLatency.summary(recentLatency) },
    };
  }
}
