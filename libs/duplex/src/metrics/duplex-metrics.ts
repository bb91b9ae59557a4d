import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LatencySummary } from '../cluster/latency-window';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { DuplexHealth, type HealthReport } from '../runtime/duplex-health';
import { type ConnectionCloseCause, NodeEvents, type NodeObserver } from '../runtime/node-events';

const QUANTILES = { '0.5': 'p50', '0.99': 'p99', '1': 'max' } as const;

/**
 * The node's Prometheus metrics, in a registry of its own (so several nodes
 * can share a process in tests). Counters are fed by the node's events;
 * everything else is read from the health report when scraped, so the hot
 * paths pay nothing.
 * Latencies are recent quantiles (the last 2,048 samples), in seconds.
 */
@Injectable()
export class DuplexMetrics implements NodeObserver {
  readonly registry = new Registry();
  private readonly calls: Counter<'service' | 'operation' | 'outcome'>;
  private readonly callbacks: Counter<'service' | 'method' | 'outcome'>;
  private readonly closes: Counter<'cause'>;

  constructor(health: DuplexHealth, events: NodeEvents, @Inject(DUPLEX_OPTIONS) options: Pick<ResolvedDuplexOptions, 'nodeId'>) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: options.nodeId });
    collectDefaultMetrics({ register: this.registry });
    this.calls = new Counter({
      name: 'duplex_calls_total',
      help: 'Operation calls answered, by service, operation and outcome (ok or error code)',
      labelNames: ['service', 'operation', 'outcome'],
      registers,
    });
    this.callbacks = new Counter({
      name: 'duplex_callbacks_total',
      help: 'Callbacks raised by services, by service, method and outcome (ok or error code)',
      labelNames: ['service', 'method', 'outcome'],
      registers,
    });
    this.closes = new Counter({
      name: 'duplex_connections_closed_total',
      help: 'Client connections the node closed itself, by cause (slow-consumer, bad-frame, frame-too-large, transport-error); their sessions stay resumable',
      labelNames: ['cause'],
      registers,
    });
    // A scrape runs every collect in one synchronous pass: the report (counters
    // copied, latency windows sorted) is taken once for all of them.
    let scraped: HealthReport | undefined;
    const report = () => {
      if (!scraped) {
        scraped = health.report();
        queueMicrotask(() => (scraped = undefined));
      }
      return scraped;
    };
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect: function (this: Gauge) {
          this.set(read());
        },
      });
    gauge('duplex_connections', 'Sessions with a connected client on this node', () => report().connections);
    gauge('duplex_sessions', 'Sessions on this node, connected or within their grace period', () => report().sessions);
    gauge('duplex_ready', '1 when the node serves: bus connected and shared state caught up', () => Number(report().ready));
    gauge('duplex_cluster_nodes', 'Live nodes this node knows of, itself included', () => report().nodes.length);
    gauge('duplex_bus_published_messages', 'Messages this node published on the bus', () => report().bus.published);
    gauge('duplex_bus_delivered_messages', 'Messages the bus delivered to this node', () =>
      Object.values(report().bus.delivered).reduce((sum, n) => sum + n, 0),
    );
    gauge('duplex_state_position', 'Position of the last shared-state entry applied here', () => report().state.position);
    const latency = (name: string, help: string, read: () => LatencySummary) =>
      new Gauge({
        name,
        help,
        labelNames: ['quantile'],
        registers,
        collect: function (this: Gauge<'quantile'>) {
          const summary = read();
          for (const [quantile, key] of Object.entries(QUANTILES)) this.set({ quantile }, summary[key] / 1000);
        },
      });
    latency('duplex_bus_publish_seconds', 'Bus publish to broker confirm, recent quantiles', () => report().bus.latency.publish);
    latency('duplex_bus_delivery_seconds', 'Publish on any node to delivery on this one, recent quantiles', () => report().bus.latency.delivery);
    latency('duplex_state_lag_seconds', 'A shared-state write from append to applied here, recent quantiles', () => report().state.lag);
    events.add(this);
  }

  call(service: string, operation: string, outcome: string): void {
    this.calls.inc({ service, operation, outcome });
  }

  callback(service: string, method: string, outcome: string): void {
    this.callbacks.inc({ service, method, outcome });
  }

  closed(cause: ConnectionCloseCause): void {
    this.closes.inc({ cause });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
