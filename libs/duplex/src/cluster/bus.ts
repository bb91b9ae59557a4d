import type { BusAddress } from './bus-address';
import type { BusMessage } from './bus-message';
import type { LatencySummary } from './latency-window';

export type BusHandler = (message: BusMessage, address: BusAddress) => void;

/** What a (re)connection tells the node. */
export interface BusUp {
  /**
   * Messages routed to this node while it was away may be gone: its inbox
   * did not outlive the outage (the broker restarted, or the inbox expired).
   * False on the first connection and after a blip the inbox survived.
   */
  lost: boolean;
}
export type JobHandler = (message: BusMessage) => Promise<void>;

export interface PublishOptions {
  /**
   * The message must reach at least one node; otherwise publish rejects with
   * a NoRouteError. Used for messages to one node (a session's), never for topics.
   */
  mandatory?: boolean;
}

export interface BusStats {
  /** Messages this node received, by topic routing key, or by kind for sessions, nodes and broadcasts. */
  delivered: Record<string, number>;
  published: number;
  reconnects: number;
  /** Recent latencies (ms): publish → confirm here, and publish elsewhere → delivery here. */
  latency: { publish: LatencySummary; delivery: LatencySummary };
}

/**
 * Everything that crosses nodes goes through this interface; nothing above it
 * knows which transport carries it. `publish` resolves once the transport has
 * taken responsibility for the message (a broker confirm) and rejects with a
 * DuplexError (UNAVAILABLE) otherwise: never a silent loss.
 */
export interface Bus {
  readonly nodeId: string;
  /** False while the transport is down; publishes then fail fast. */
  readonly connected: boolean;
  /**
   * Starts delivering to `handler`; binds the node's own address and the
   * broadcast address. `onUp` runs after every (re)connection.
   */
  start(handler: BusHandler, onUp?: (up: BusUp) => void): Promise<void>;
  publish(address: BusAddress, message: BusMessage, options?: PublishOptions): Promise<void>;
  /** Declares interest: messages to `address` start reaching this node. Idempotent; kept across reconnects. */
  bind(address: BusAddress): Promise<void>;
  unbind(address: BusAddress): Promise<void>;
  /**
   * Hands a job to exactly one node at a time (a single active consumer).
   * A job whose node dies before finishing it goes to the next node.
   */
  enqueueJob(queue: string, message: BusMessage): Promise<void>;
  /** Registers this node as a consumer of a job queue; call before start(). */
  consumeJobs(queue: string, handler: JobHandler): void;
  /** Counters, and latency percentiles over the last `recentLatency` messages (as many as are held by default). */
  stats(recentLatency?: number): BusStats;
  close(): Promise<void>;
}

export const BUS = Symbol('duplex:bus');
