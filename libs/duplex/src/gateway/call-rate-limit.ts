import type { Session } from '../runtime/session';
import type { EngineSocket } from './outbound-limits';
import { TokenBucket } from './token-bucket';

/**
 * Holds each session's calls to a rate (`callsPerSecond`, bursts of
 * `callBurst`). A call past it is refused, and the client's WebSocket is not
 * read until its next token: a flood waits in its own TCP window rather than
 * in the node's event loop, so one client cannot stall the others. The pause
 * lasts one token's time, so the client's answers to request-reply
 * callbacks are only delayed, never stuck.
 */
export class CallRateLimit {
  private readonly buckets = new WeakMap<Session, TokenBucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  get message(): string {
    return `more than ${this.perSecond} calls a second (bursts of ${this.burst}); slow down`;
  }

  /** Whether this call may go on; if not, the connection's reading pauses until the session's next token. */
  admit(session: Session, engine: EngineSocket): boolean {
    if (this.perSecond === 0) return true;
    let bucket = this.buckets.get(session);
    if (!bucket) this.buckets.set(session, (bucket = new TokenBucket(this.perSecond, this.burst)));
    if (bucket.take()) return true;
    const ws = engine.transport?.socket;
    if (ws?.pause && ws.resume && !ws.isPaused) {
      ws.pause();
      setTimeout(() => ws.resume!(), Math.ceil(bucket.msUntilNext())).unref();
    }
    return false;
  }
}
