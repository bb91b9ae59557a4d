import { randomUUID } from 'node:crypto';
import { DuplexError } from '../protocol';
import type { Bus, BusHandler, PublishOptions } from './bus';
import { BusAddress, nodeAddress, routingKey } from './bus-address';
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
    for (const bus of buses) bus.enqueue(structuredClone(message), address);
    return buses.size;
  }

  static readonly shared = new MemoryBroker();
}

/** The embedded default bus: no broker, one process. */
export class MemoryBus implements Bus {
  private handler: BusHandler | null = null;

  constructor(
    readonly nodeId: string = randomUUID(),
    private readonly broker: MemoryBroker = MemoryBroker.shared,
  ) {}

  async start(handler: BusHandler): Promise<void> {
    this.handler = handler;
    this.broker.bind(routingKey(nodeAddress(this.nodeId)), this);
  }

  async publish(address: BusAddress, message: BusMessage, options: PublishOptions = {}): Promise<void> {
    if (!this.handler) throw new DuplexError('UNAVAILABLE', 'bus is not started');
    const routed = this.broker.route(address, message);
    if (routed === 0 && options.mandatory) throw new NoRouteError(address);
  }

  async bind(address: BusAddress): Promise<void> {
    this.broker.bind(routingKey(address), this);
  }

  async unbind(address: BusAddress): Promise<void> {
    this.broker.unbind(routingKey(address), this);
  }

  async close(): Promise<void> {
    this.broker.unbindAll(this);
    this.handler = null;
  }

  /** Delivery is asynchronous, as on a real transport, and FIFO per bus. */
  enqueue(message: BusMessage, address: BusAddress): void {
    queueMicrotask(() => this.handler?.(message, address));
  }
}
