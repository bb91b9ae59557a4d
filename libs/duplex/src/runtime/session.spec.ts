import { describe, expect, it } from '@jest/globals';
import type { Ack, CallbackFrame } from '../protocol';
import type { ClientConnection } from './client-connection';
import { Session } from './session';

class Recorder implements ClientConnection {
  readonly sent: CallbackFrame[] = [];
  send(frame: CallbackFrame, seq: number): void {
    this.sent.push({ ...frame, seq });
  }
  async request(): Promise<Ack> {
    return { ok: true, result: 'answered' };
  }
  close(): void {}
}

const frame = (n: number): CallbackFrame => ({ service: 's', method: 'm', args: [n] });
const args = (r: Recorder) => r.sent.map((f) => f.args[0]);

describe('Session', () => {
  it('numbers one-way callbacks and replays those after lastSeq on resume', () => {
    const session = new Session('id', null, 10, 100);
    const first = new Recorder();
    session.attach(first);
    session.send(frame(1));
    session.send(frame(2));
    session.detach(first);
    session.send(frame(3));
    const second = new Recorder();
    // The client saw seq 1 only: frame 2 was written to a dying socket.
    expect(session.missedSince(1)).toBe(0);
    session.attach(second, 1);
    expect(args(second)).toEqual([2, 3]);
    expect(second.sent.map((f) => f.seq)).toEqual([2, 3]);
  });

  it('reports callbacks lost beyond the replay window instead of hiding them', () => {
    const session = new Session('id', null, 10, 2);
    for (let n = 1; n <= 5; n++) session.send(frame(n));
    const connection = new Recorder();
    expect(session.missedSince(0)).toBe(3);
    expect(session.missedSince(4)).toBe(0);
    session.attach(connection, 0);
    expect(args(connection)).toEqual([4, 5]);
  });

  it('holds request-reply callbacks raised while away until the client is back', async () => {
    const session = new Session('id', null, 10, 10);
    const answer = session.request(frame(1), 1_000);
    session.attach(new Recorder());
    await expect(answer).resolves.toEqual({ ok: true, result: 'answered' });
  });

  it('ignores a stale connection detaching after a newer one attached', () => {
    const session = new Session('id', null, 10, 10);
    const old = new Recorder();
    const current = new Recorder();
    session.attach(old);
    session.attach(current);
    expect(session.detach(old)).toBe(false);
    expect(session.connected).toBe(true);
  });
});
