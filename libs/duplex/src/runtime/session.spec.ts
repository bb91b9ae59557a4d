import { describe, expect, it } from '@jest/globals';
import type { Ack, CallbackFrame } from '@nest-duplex/protocol';
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
  gaps = 0;
  gap(): void {
    this.gaps++;
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

  it('tells a connected client at once, and a detached one when it is back, that callbacks may be lost', () => {
    const session = new Session('id', null, 10, 100);
    const live = new Recorder();
    session.attach(live);
    session.lostCallbacks();
    expect(live.gaps).toBe(1);
    session.detach(live);
    session.lostCallbacks();
    expect(session.missedSince(0)).toBe(-1);
    expect(session.missedSince(0)).toBe(0);
  });

  describe('moving between nodes', () => {
    const shared = (n: number, id: string) => ({ ...frame(n), id });

    it('hands over what the client has not seen, and the new node numbers on without a gap or a repeat', () => {
      const old = new Session('id', null, 10, 100);
      for (let n = 1; n <= 5; n++) old.send(shared(n, `m${n}`));
      const moved = new Session('id', null, 10, 100, 2);
      moved.hold();
      // Both nodes are bound while the move runs: m5 reached both, m6 only the new one.
      moved.send(shared(5, 'm5'));
      moved.send(shared(6, 'm6'));
      moved.takeOver(old.handOver(2), 2);
      moved.send(shared(7, 'm7'));
      const client = new Recorder();
      expect(moved.missedSince(2)).toBe(0);
      moved.attach(client, 2);
      expect(args(client)).toEqual([3, 4, 5, 6, 7]);
      expect(client.sent.map((f) => f.seq)).toEqual([3, 4, 5, 6, 7]);
    });

    it('counts what fell out of the old node\'s window', () => {
      const old = new Session('id', null, 10, 2);
      for (let n = 1; n <= 5; n++) old.send(shared(n, `m${n}`));
      const moved = new Session('id', null, 10, 2, 1);
      moved.hold();
      moved.takeOver(old.handOver(1), 1);
      expect(moved.missedSince(1)).toBe(2); // 2 and 3
      const client = new Recorder();
      moved.attach(client, 1);
      expect(client.sent.map((f) => f.seq)).toEqual([4, 5]);
    });

    it('numbers on from the old node\'s last seq when it held nothing new', () => {
      const old = new Session('id', null, 10, 0);
      for (let n = 1; n <= 3; n++) old.send(shared(n, `m${n}`));
      const moved = new Session('id', null, 10, 0, 1);
      moved.hold();
      moved.takeOver(old.handOver(1), 1);
      expect(moved.missedSince(1)).toBe(2);
      moved.send(shared(4, 'm4'));
      const client = new Recorder();
      moved.attach(client, 3);
      expect(client.sent.map((f) => f.seq)).toEqual([]); // window of 0: sent live only
    });

    it('says the gap is unknown, once, when the old node could not hand over', () => {
      const moved = new Session('id', null, 10, 100, 4);
      moved.hold();
      moved.send(shared(9, 'm9'));
      moved.takeOver(null, 4);
      expect(moved.missedSince(4)).toBe(-1);
      expect(moved.missedSince(4)).toBe(0);
      const client = new Recorder();
      moved.attach(client, 4);
      expect(client.sent).toEqual([{ ...shared(9, 'm9'), seq: 5 }]);
    });
  });
});
