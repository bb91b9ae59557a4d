import { describe, expect, it } from '@jest/globals';
import type { Ack, CallbackFrame } from '@nest-duplex/protocol';
import { sessionAddress, topicAddress, type BusAddress } from '../cluster/bus-address';
import type { BusMessage } from '../cluster/bus-message';
import { BusUnavailableError } from '../cluster/bus-unavailable.error';
import { MemoryBroker, MemoryBus } from '../cluster/memory-bus';
import type { PublishOptions } from '../cluster/bus';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { idempotencyScope } from '../state/idempotency-scope';
import { CallbackRouter } from './callback-router';
import type { ClientConnection } from './client-connection';
import { NodeEvents } from './node-events';
import { Session } from './session';

/** A memory bus whose transport is down for its first `outage` publishes, as across a broker restart. */
class FlakyBus extends MemoryBus {
  attempts = 0;
  constructor(
    private outage: number,
    broker: MemoryBroker,
  ) {
    super('flaky', broker);
  }
  override async publish(address: BusAddress, message: BusMessage, options?: PublishOptions): Promise<void> {
    if (++this.attempts <= this.outage) throw new BusUnavailableError();
    return super.publish(address, message, options);
  }
}

const frame = { service: 'party', method: 'changed', args: [1] };
const noSessions = { get: () => undefined, movedAway: () => false };
const inCall = <T>(run: () => Promise<T>) => idempotencyScope.run({ key: 'session:call-1', occurrences: new Map() }, run);

async function setUp(outage: number, waitMs = 1_000) {
  const broker = new MemoryBroker();
  const bus = new FlakyBus(outage, broker);
  const router = new CallbackRouter(bus, new TopicSubscriptions(bus), noSessions, new NodeEvents(), { waitMs, retryDelayMs: 5 });
  const received: BusMessage[] = [];
  const listener = new MemoryBus('listener', broker);
  await listener.start((message) => void received.push(message));
  await listener.bind(topicAddress('party'));
  await bus.start(() => undefined);
  return { bus, router, received };
}

describe('CallbackRouter during a bus outage', () => {
  it('holds a callback raised by a call until the bus takes it, so the call that changed state also announces it', async () => {
    const { bus, router, received } = await setUp(3);
    await inCall(() => router.publish('party', frame));
    await new Promise((r) => setImmediate(r));
    expect(bus.attempts).toBe(4);
    expect(received).toHaveLength(1);
  });

  it('ends the wait with TIMEOUT (it may still be delivered) once the outage outlasts it', async () => {
    const { router, received } = await setUp(Number.POSITIVE_INFINITY, 50);
    await expect(inCall(() => router.publish('party', frame))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(received).toHaveLength(0);
  });

  it('fails fast with UNAVAILABLE outside a call, where a second copy could not be told from the first', async () => {
    const { bus, router } = await setUp(1);
    await expect(router.publish('party', frame)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(bus.attempts).toBe(1);
  });

  it('does not wait on an answer about the target: a session no node holds is UNAVAILABLE at once', async () => {
    const { bus, router } = await setUp(0);
    await expect(inCall(() => router.send('nobody', frame))).rejects.toMatchObject({ code: 'UNAVAILABLE', name: 'NoRouteError' });
    expect(bus.attempts).toBe(1);
  });
});

/** A connection that answers request-reply callbacks with `answer` and records one-way ones. */
class AnsweringConnection implements ClientConnection {
  readonly received: Array<{ args: unknown[]; seq: number }> = [];
  constructor(private readonly answer: (frame: CallbackFrame) => Promise<Ack>) {}
  send(frame: CallbackFrame, seq: number): void {
    this.received.push({ args: frame.args, seq });
  }
  request(frame: CallbackFrame): Promise<Ack> {
    return this.answer(frame);
  }
  gap(): void {}
  close(): void {}
}

/** Two nodes on one memory broker, each a router over sessions held in a map. */
async function twoNodes() {
  const broker = new MemoryBroker();
  const node = async (id: string) => {
    const bus = new MemoryBus(id, broker);
    const subscriptions = new TopicSubscriptions(bus);
    const sessions = new Map<string, Session>();
    const moved = new Set<string>();
    const router = new CallbackRouter(bus, subscriptions, { get: (s) => sessions.get(s), movedAway: (s) => moved.has(s) }, new NodeEvents());
    await bus.start((message, address) => {
      if (message.type === 'callback' || message.type === 'reply') router.handle(message, address);
    });
    /** A connected session here, subscribed to `topics`. */
    const connect = async (sessionId: string, answer: (frame: CallbackFrame) => Promise<Ack> = async () => ({ ok: true, result: sessionId }), ...topics: string[]) => {
      const session = new Session(sessionId, null, 10, 10);
      const connection = new AnsweringConnection(answer);
      session.attach(connection);
      sessions.set(sessionId, session);
      await bus.bind(sessionAddress(sessionId));
      for (const topic of topics) await subscriptions.subscribe(topic, sessionId);
      return connection;
    };
    return { bus, router, sessions, moved, connect };
  };
  return [await node('a'), await node('b')] as const;
}

describe('CallbackRouter between nodes', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

  it("delivers a callback to a session on its node, numbered in the session's order", async () => {
    const [a, b] = await twoNodes();
    const ann = await b.connect('ann');
    await a.router.send('ann', { ...frame, args: [1] });
    await a.router.send('ann', { ...frame, args: [2] });
    await settle();
    expect(ann.received).toEqual([
      { args: [1], seq: 1 },
      { args: [2], seq: 2 },
    ]);
  });

  it('fans a topic callback out to its subscribers on every node, except the one named', async () => {
    const [a, b] = await twoNodes();
    const here = await a.connect('here', undefined, 'party');
    const there = await b.connect('there', undefined, 'party');
    const caller = await b.connect('caller', undefined, 'party');
    await b.router.publish('party', frame, 'caller');
    await settle();
    expect([here.received.length, there.received.length, caller.received.length]).toEqual([1, 1, 0]);
  });

  it("answers a request-reply callback with the client's result or error, across nodes", async () => {
    const [a, b] = await twoNodes();
    await b.connect('ann');
    await b.connect('bob', async () => ({ ok: false, error: { code: 'CONFLICT', message: 'no' } }));
    await expect(a.router.request('ann', frame, 1_000)).resolves.toBe('ann');
    await expect(a.router.request('bob', frame, 1_000)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('is UNAVAILABLE for a session no node holds, and TIMEOUT for one that does not answer', async () => {
    const [a, b] = await twoNodes();
    await b.connect('mute', () => new Promise(() => undefined));
    await expect(a.router.request('nobody', frame, 1_000)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(a.router.request('mute', frame, 50)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('leaves a request for a session that moved away to its new node, and answers one for a session that ended', async () => {
    const [a, b] = await twoNodes();
    await b.connect('moving');
    await b.connect('ending');
    // Still bound here for a moment, but gone from the map: one has moved on, the other has ended.
    b.sessions.delete('moving');
    b.moved.add('moving');
    b.sessions.delete('ending');
    await expect(a.router.request('moving', frame, 50)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(a.router.request('ending', frame, 1_000)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'session ended' });
  });

  it('rejects the requests still waiting when the node closes', async () => {
    const [a, b] = await twoNodes();
    await b.connect('mute', () => new Promise(() => undefined));
    const waiting = a.router.request('mute', frame, 10_000);
    await settle();
    a.router.close();
    await expect(waiting).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
