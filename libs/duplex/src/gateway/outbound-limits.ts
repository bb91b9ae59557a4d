/** How much may wait to be written to one client before the node gives up on it (a slow consumer). */
export interface OutboundLimits {
  /** Bytes queued in Engine.IO and in the WebSocket's send buffer. */
  maxBufferedBytes: number;
  /** Packets queued in Engine.IO (not yet handed to the transport). */
  maxBufferedFrames: number;
}

/** What was waiting when a connection was closed as a slow consumer. */
export interface Backlog {
  frames: number;
  bytes: number;
}

/** The parts of an Engine.IO socket the bound reads: public in engine.io's API, untyped in socket.io's. */
export interface EngineSocket {
  writeBuffer: unknown[];
  /** On a WebSocket, `socket` is the `ws` WebSocket. */
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void; pause?: () => void; resume?: () => void; isPaused?: boolean } };
  on(event: 'drain', listener: () => void): unknown;
  close(discard?: boolean): void;
}

/**
 * Keeps what waits for one client within `limits`. Engine.IO queues packets
 * while its transport is busy, and a client that stops reading keeps it busy
 * for good, so without a bound its queue grows until the ping timeout (tens
 * of seconds). A backlog over the bound is looked at again once the event
 * loop has done its I/O, so a burst that a reading client takes at once does
 * not count; still over then, the transport is cut, its backlog discarded:
 * the session stays, its client resumes and gets its replay window or a
 * `missed` count, as after any lost connection.
 *
 * The replay a connection starts with may be larger than the bound (up to the
 * replay window): it is allowed on top of the bound until the backlog is back
 * within it, so a client never loops between resuming and being cut.
 */
export class OutboundBound {
  /** Bytes of the packets queued since Engine.IO last handed its queue to the transport. */
  private queuedBytes = 0;
  private replaying = true;
  /** What the replay queued, allowed on top of the limits until the backlog is within them. */
  private allowance: Backlog = { frames: 0, bytes: 0 };
  private recheck: NodeJS.Immediate | null = null;
  /** Set once the connection was cut. */
  exceeded: Backlog | null = null;

  constructor(
    private readonly engine: EngineSocket,
    private readonly limits: OutboundLimits,
  ) {
    engine.on('drain', () => (this.queuedBytes = 0));
  }

  /** The replay is written: from here on, writes are held to the bound. */
  replayed(): void {
    this.replaying = false;
  }

  /** After a write of `bytes`. Cheap while within the bound: two comparisons. */
  wrote(bytes: number): void {
    if (this.exceeded || this.engine.writeBuffer.length === 0) return; // cut, or handed to the transport at once
    this.queuedBytes += bytes;
    if (this.replaying) {
      this.allowance = { frames: this.allowance.frames + 1, bytes: this.allowance.bytes + bytes };
      return;
    }
    if (this.within() || this.recheck) return;
    this.recheck = setImmediate(() => {
      this.recheck = null;
      if (!this.exceeded && !this.within()) this.cut();
    });
  }

  /** Whether the backlog is within the bound (plus what is left of the replay's allowance). */
  private within(): boolean {
    const { frames, bytes } = this.backlog();
    const { maxBufferedFrames, maxBufferedBytes } = this.limits;
    if (frames <= maxBufferedFrames && bytes <= maxBufferedBytes) {
      this.allowance = { frames: 0, bytes: 0 };
      return true;
    }
    return frames <= maxBufferedFrames + this.allowance.frames && bytes <= maxBufferedBytes + this.allowance.bytes;
  }

  private backlog(): Backlog {
    const frames = this.engine.writeBuffer.length;
    const queued = frames === 0 ? 0 : this.queuedBytes;
    return { frames, bytes: queued + (this.engine.transport?.socket?.bufferedAmount ?? 0) };
  }

  private cut(): void {
    this.exceeded = this.backlog();
    const ws = this.engine.transport?.socket;
    // A WebSocket closed politely keeps its send buffer until the peer reads it (or 30 s): cut it instead.
    if (typeof ws?.terminate === 'function') ws.terminate();
    else this.engine.close(true);
  }
}
