import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { CallbackFrame } from '@nest-duplex/protocol';
import { topicAddress } from '../cluster/bus-address';
import type { BusMessage } from '../cluster/bus-message';
import { MemoryBroker, MemoryBus } from '../cluster/memory-bus';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import type { ClientConnection } from './client-connection';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';

const GRACE_MS = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ping: BusMessage = { type: 'callback', id: 'x', service: 'party', method: 'changed', args: [] };

/** A connection that records what it was sent and whether the server closed it. */
class RecordingConnection implements ClientConnection {
  readonly sent: number[] = [];
  closed = false;
  send(_frame: CallbackFrame, seq: number): void {
    this.sent.push(seq);
  }
  request(): Promise<never> {
    return new Promise(() => undefined);
  }
  gap(): void {}
  close(): void {
    this.closed = true;
  }
}

describe('SessionRegistry', () => {
  let bus: MemoryBus;
  let subscriptions: TopicSubscriptions;
  let registry: SessionRegistry;
  let endings: string[];
  let left: string[];

  beforeEach(async () => {
    bus = new MemoryBus('node-a', new MemoryBroker());
    await bus.start(() => undefined);
    subscriptions = new TopicSubscriptions(bus);
    endings = [];
    left = [];
    registry = new SessionRegistry(subscriptions, { sessionGraceMs: GRACE_MS, maxPendingCalls: 10, replayWindow: 5 }, {
      ended: async (session) => {
        await sleep(5);
        endings.push(session.id);
      },
    });
    registry.on('left', (session) => void left.push(session.id));
  });
  afterEach(() => bus.close());

  /** Whether a message to the topic reaches a node. */
  const reachable = (topic: string) => bus.publish(topicAddress(topic), ping, { mandatory: true });

  it('lists a session before handing it out, and unlists it and unbinds its topics when it ends', async () => {
    const session = await registry.open('ann');
    expect(registry.get(session.id)).toBe(session);
    session.topics.add('party');
    await subscriptions.subscribe('party', session.id);
    await expect(reachable('party')).resolves.toBeUndefined();
    await registry.end(session);
    expect(endings).toEqual([session.id]);
    expect(left).toEqual([session.id]);
    expect(registry.get(session.id)).toBeUndefined();
    await expect(reachable('party')).rejects.toMatchObject({ name: 'NoRouteError' });
    expect(subscriptions.local('party').size).toBe(0);
  });

  it('ends a session whose handshake never completed after the grace period', async () => {
    const session = await registry.open(null);
    await sleep(GRACE_MS * 3);
    expect(session.ended).toBe(true);
    expect(endings).toEqual([session.id]);
  });

  it('keeps a session through a lost connection when its client comes back within the grace period', async () => {
    const session = await registry.open(null);
    const first = new RecordingConnection();
    registry.attach(session, first, 0);
    registry.detach(session, first, false);
    await sleep(GRACE_MS / 2);
    const second = new RecordingConnection();
    expect(registry.attach(session, second, 0)).toBe(true);
    await sleep(GRACE_MS * 2);
    expect(session.ended).toBe(false);
    expect(endings).toEqual([]);
  });

  it('ends a session at once when its client leaves on purpose, and only once', async () => {
    const session = await registry.open(null);
    const connection = new RecordingConnection();
    registry.attach(session, connection, 0);
    registry.detach(session, connection, true);
    await registry.end(session);
    await registry.settled();
    expect(endings).toEqual([session.id]);
    expect(registry.attach(session, new RecordingConnection(), 0)).toBe(false);
  });

  it('ignores the close of a connection another one has replaced', async () => {
    const session = await registry.open(null);
    const old = new RecordingConnection();
    registry.attach(session, old, 0);
    registry.attach(session, new RecordingConnection(), 0);
    registry.detach(session, old, true);
    await sleep(GRACE_MS * 2);
    expect(session.ended).toBe(false);
  });

  it('settles once every session that began to end has run its end hooks', async () => {
    const sessions = await Promise.all([registry.open(1), registry.open(2), registry.open(3)]);
    for (const session of sessions) void registry.end(session);
    await registry.settled();
    expect(endings.sort()).toEqual(sessions.map((s) => s.id).sort());
  });

  it('lets a session that moved away go without ending it, and remembers where it went', async () => {
    const session = await registry.open(null);
    const connection = new RecordingConnection();
    registry.attach(session, connection, 0);
    session.send({ service: 'party', method: 'changed', args: [1] });
    session.send({ service: 'party', method: 'changed', args: [2] });
    const window = registry.handOver(session.id, 1, session.token.generation, 'node-b');
    expect(window).toMatchObject({ lastSeq: 2, frames: [{ seq: 2, args: [2] }] });
    expect(connection.closed).toBe(true);
    expect(registry.movedTo(session.id)).toBe('node-b');
    await sleep(5);
    expect(endings).toEqual([]);
    expect(left).toEqual([session.id]);
    expect(registry.handOver(session.id, 0, session.token.generation, 'node-c')).toBeNull();
  });

  it('lets a copy go when another node announces a copy that moved more often, and only then', async () => {
    const info = { id: 's-1', identity: null, topics: [], attributes: {}, token: { generation: 1, confirmed: true } };
    const adopted = await registry.adopt({ ...info, moves: 2 }, 0); // its third node
    expect(adopted.moves).toBe(3);
    registry.superseded({ ...info, moves: 2 }); // what the node it came from said before the move
    registry.superseded(info);
    expect(registry.get('s-1')).toBe(adopted);
    registry.superseded({ ...info, moves: 4 }); // it resumed on another node since
    expect(registry.get('s-1')).toBeUndefined();
    await sleep(5);
    expect(endings).toEqual([]);
  });

  it('runs no grace period while frozen: a stopping node leaves its sessions to be resumed elsewhere', async () => {
    const session = await registry.open(null);
    const connected = await registry.open(null);
    const connection = new RecordingConnection();
    registry.attach(connected, connection, 0);
    registry.freeze();
    registry.detach(connected, connection, false); // lost after the freeze, as a drained client's is
    await sleep(GRACE_MS * 2);
    expect([session.ended, connected.ended]).toEqual([false, false]);
  });

  it('holds a reserved session for its handshake, and starts the grace period when that connection is abandoned', async () => {
    const session = await registry.open(null);
    registry.reserve(session);
    await sleep(GRACE_MS * 2);
    expect(session.ended).toBe(false);
    registry.abandon(session);
    await sleep(GRACE_MS * 3);
    expect(session.ended).toBe(true);
  });
});
