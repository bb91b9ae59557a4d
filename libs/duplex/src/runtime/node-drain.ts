import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { SessionRegistry } from './session-registry';

/** What a drain tells whoever moves clients (the gateway). */
export interface DrainEvents {
  /** The node drains: ask connected clients to move, `batch` at a time, one batch per `intervalMs`. */
  start: [pace: { batch: number; intervalMs: number }];
}

/** How often a drain looks whether the node is empty. */
const POLL_MS = 50;

/**
 * Empties a node before it stops, for deploys: from `drain()` on it takes no
 * new connections and says so on /health, its clients are asked to move (the
 * gateway does it, on `start`) and resume on other nodes, which take their
 * sessions over with their windows; it resolves once every session that had
 * a client has moved, or at `drainTimeoutMs`. Sessions whose clients do not
 * come back stay resumable elsewhere, as after any stop.
 */
@Injectable()
export class NodeDrain extends EventEmitter<DrainEvents> {
  private readonly logger = new Logger(NodeDrain.name);
  private running: Promise<void> | null = null;

  constructor(
    private readonly sessions: SessionRegistry,
    @Inject(DUPLEX_OPTIONS) private readonly options: Pick<ResolvedDuplexOptions, 'drainTimeoutMs' | 'drainDelayMs' | 'drainBatch' | 'drainIntervalMs'>,
  ) {
    super();
  }

  get draining(): boolean {
    return this.running !== null;
  }

  /** Starts the drain (once) and resolves when the node is empty or the deadline has passed. */
  drain(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  private async run(): Promise<void> {
    const { drainTimeoutMs, drainDelayMs, drainBatch, drainIntervalMs } = this.options;
    // Draining from here (/health, new connections refused); the balancer may need a moment to notice.
    if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
    const started = performance.now();
    // The sessions with a client now are asked to move; those without one have nobody to move them.
    const moving = [...this.sessions.all()].filter((s) => s.connected).map((s) => s.id);
    // None ends here for want of its client from now on: one slow to come back gets its grace period elsewhere.
    this.sessions.freeze();
    this.logger.log(`draining: ${moving.length} clients to move, ${drainBatch} every ${drainIntervalMs} ms, for ${drainTimeoutMs} ms at most`);
    this.emit('start', { batch: drainBatch, intervalMs: drainIntervalMs });
    const staying = () => moving.filter((id) => this.sessions.get(id) !== undefined).length;
    while (staying() > 0 && performance.now() - started < drainTimeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const left = staying();
    const took = Math.round(performance.now() - started);
    const moved = moving.filter((id) => (this.sessions.movedTo(id) !== undefined)).length;
    const ended = moving.length - left - moved;
    const how = `${moved} sessions moved, ${ended} ended by their clients`;
    if (left === 0) this.logger.log(`drained in ${took} ms: ${how}`);
    else this.logger.warn(`drain deadline after ${took} ms: ${how}, ${left} did not move; they stay resumable on other nodes`);
  }
}
