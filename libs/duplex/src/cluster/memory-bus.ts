import { randomUUID } from 'node:crypto';
import { DuplexError } from '@nest-duplex/protocol';
import { BusUnavailableError } from './bus-unavailable.error';
import type { Bus, BusHandler, BusStats, BusUp, JobHandler, PublishOptions } from './bus';
import { BROADCAST, BusAddress, nodeAddress, routingKey } from './bus-address';
import { BusCounters } from './bus-stats';
import { wallClockMs } from './latency-window';
import type { BusMessage } from './bus-message';
import { NoRouteError } from './no-route.error';

/**
 * The in-process exchange that memory buses share. One per process by
 * default; tests create their own to run several nodes side by side.
 */
export class MemoryBroker {
  private readonly bindings = new Map<string, Set<MemoryBus>>();

  bind(key: string, bus: MemoryBus): void {
    let buses = this.bindings.get(key);
    if (!buses) this.bindings.set(key, (buses = new Set()));
    buses.add(bus);
  }

  unbind(key: string, bus: MemoryBus): void {
    const buses = this.bindings.get(key);
    if (!buses) return;
    buses.delete(bus);
    if (buses.size === 0) this.bindings.delete(key);
  }

  unbindAll(bus: MemoryBus): void {
    for (const key of [...this.bindings.keys()]) this.unbind(key, bus);
  }

  /** Returns how many nodes the message was routed to. */
  route(address: BusAddress, message: BusMessage): number {
    const buses = this.bindings.get(routingKey(address));
    if (!buses) return 0;
    // Structured clone stands in for serialisation, so the memory bus never
    // lets nodes share mutable objects that a real transport would copy.
    const sentAt = wallClockMs();
    for (const bus of buses) bus.enqueue(structuredClone(message), address, sentAt);
    return buses.size;
  }

  static readonly shared = new MemoryBroker();
}

/** The embedded default bus: no broker, one process. */
export class MemoryBus implements Bus {
  private handler: BusHandler | null = null;
  private readonly counters = new BusCounters();
  private readonly jobs = new Map<string, JobHandler>();

  constructor(
    readonly nodeId: string = randomUUID(),
    private readonly broker: MemoryBroker = MemoryBroker.shared,
  ) {}

  get connected(): boolean {
    return this.handler !== null;
  }

  async start(handler: BusHandler, onUp?: (up: BusUp) => void): Promise<void> {
    this.handler = handler;
    this.broker.bind(routingKey(nodeAddress(this.nodeId)), this);
    this.broker.bind(routingKey(BROADCAST), this);
    onUp?.({ lost: false });
  }

  async publish(address: BusAddress, message: BusMessage, options: PublishOptions = {}): Promise<void> {
    if (!this.handler) throw new BusUnavailableError('bus is not started');
    this.counters.published++;
    const routed = this.broker.route(address, message);
    if (routed === 0 && options.mandatory) throw new NoRouteError(address);
  }

  async bind(address: BusAddress): Promise<void> {
    this.broker.bind(routingKey(address), this);
  }

  async unbind(address: BusAddress): Promise<void> {
    this.broker.unbind(routingKey(address), this);
  }

  consumeJobs(queue: string, handler: JobHandler): void {
    this.jobs.set(queue, handler);
  }

  /** One process is the whole cluster: the job runs here. */
  async enqueueJob(queue: string, message: BusMessage): Promise<void> {
    const handler = this.jobs.get(queue);
    if (!handler) throw new DuplexError('UNAVAILABLE', `no consumer of job queue "${queue}"`);
    queueMicrotask(() => void handler(structuredClone(message)).catch(() => undefined));
  }

  stats(recentLatency?: number): BusStats {
    return this.counters.snapshot(recentLatency);
  }

  async close(): Promise<void> {
    this.broker.unbindAll(this);
    this.handler = null;
  }

  /** Delivery is asynchronous, as on a real transport, and FIFO per bus. */
  enqueue(message: BusMessage, address: BusAddress, sentAt: number): void {
    queueMicrotask(() => {
      if (!this.handler) return;
      this.counters.delivery(address);
      this.counters.deliveryLatency.record(wallClockMs() - sentAt);
      this.handler(message, address);
    });
  }
}
