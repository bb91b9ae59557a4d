import { RecentMap } from '../cluster/recent-map';
import type { Ack } from '@nest-duplex/protocol';

/**
 * A session's record of its recent calls' outcomes, by the client's call
 * id: a call resent after a reconnect is answered from here instead of
 * running twice (a call still running is answered when it ends). Bounded:
 * the oldest outcome goes once `capacity` are held. It moves with the
 * session when its client resumes on another live node.
 */
export class CallOutcomes {
  private readonly outcomes: RecentMap<string, { answer: Promise<Ack>; ack?: Ack }>;

  constructor(capacity: number) {
    this.outcomes = new RecentMap(capacity);
  }

  get(callId: string): Promise<Ack> | undefined {
    return this.outcomes.get(callId)?.answer;
  }

  /** A TIMEOUT is no outcome (the call may have applied in part): it is forgotten, so a resend runs the call again to its end. */
  record(callId: string, answer: Promise<Ack>): void {
    const entry: { answer: Promise<Ack>; ack?: Ack } = { answer };
    void answer.then((ack) => {
      if (!ack.ok && ack.error.code === 'TIMEOUT') {
        if (this.outcomes.get(callId) === entry) this.outcomes.delete(callId);
      } else entry.ack = ack;
    });
    this.outcomes.set(callId, entry);
  }

  /** The outcomes known so far, oldest first: what a handover carries. */
  settled(): Array<[string, Ack]> {
    const settled: Array<[string, Ack]> = [];
    for (const [callId, { ack }] of this.outcomes) if (ack) settled.push([callId, ack]);
    return settled;
  }

  /** Takes over the outcomes an old node handed over. */
  seed(outcomes: Array<[string, Ack]>): void {
    for (const [callId, ack] of outcomes) this.outcomes.set(callId, { answer: Promise.resolve(ack), ack });
  }
}
