import type { Ack } from '../protocol';

/**
 * A session's record of its recent calls' outcomes, by the client's call
 * id: a call resent after a reconnect is answered from here instead of
 * running twice (a call still running is answered when it ends). Bounded:
 * the oldest outcome goes once `capacity` are held. It moves with the
 * session when its client resumes on another live node.
 */
export class CallOutcomes {
  private readonly outcomes = new Map<string, { answer: Promise<Ack>; ack?: Ack }>();

  constructor(private readonly capacity: number) {}

  get(callId: string): Promise<Ack> | undefined {
    return this.outcomes.get(callId)?.answer;
  }

  record(callId: string, answer: Promise<Ack>): void {
    const entry: { answer: Promise<Ack>; ack?: Ack } = { answer };
    void answer.then((ack) => (entry.ack = ack));
    this.keep(callId, entry);
  }

  /** The outcomes known so far, oldest first: what a handover carries. */
  settled(): Array<[string, Ack]> {
    const settled: Array<[string, Ack]> = [];
    for (const [callId, { ack }] of this.outcomes) if (ack) settled.push([callId, ack]);
    return settled;
  }

  /** Takes over the outcomes an old node handed over. */
  seed(outcomes: Array<[string, Ack]>): void {
    for (const [callId, ack] of outcomes) this.keep(callId, { answer: Promise.resolve(ack), ack });
  }

  private keep(callId: string, entry: { answer: Promise<Ack>; ack?: Ack }): void {
    this.outcomes.delete(callId);
    this.outcomes.set(callId, entry);
    if (this.outcomes.size > this.capacity) this.outcomes.delete(this.outcomes.keys().next().value!);
  }
}
