import { describe, expect, it } from '@jest/globals';
import type { Ack, CallbackFrame } from '@nest-duplex/protocol';
import { nodeAddress, topicAddress, type BusAddress } from '../cluster/bus-address';
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
import { SessionLocator } from './session-locator';
import { type SessionDirectory, SessionRoutes } from './session-routes';

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
const noSessions = { get: () => undefined, movedTo: () => undefined };

/** Presence as every node of a test sees it: where each session lives. */
function directory(where: Map<string, string>): SessionDirectory {
  return {
    find: (sessionId) => {
      const nodeId = where.get(sessionId);
      return nodeId === undefined ? undefined : { nodeId, live: true, session: { id: sessionId } as never };
    },
    isLive: () => true,
  };
}
const inCall = <T>(run: () => Promise<T>) => idempotencyScope.run({ key: 'session:call-1', occurrences: new Map() }, run);

async function setUp(outage: number, waitMs = 1_000) {
  const broker = new MemoryBroker();
  const bus = new FlakyBus(outage, broker);
  // Presence places session "left" on a node that has stopped: no inbox answers to its address.
  const routes = new SessionRoutes(bus, noSessions, new SessionLocator(bus, { heartbeatTimeoutMs: 1_000 }), directory(new Map([['left', 'stopped']])));
  const router = new CallbackRouter(bus, new TopicSubscriptions(bus), noSessions, routes, new NodeEvents(), { waitMs, retryDelayMs: 5 });
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

  it('does not wait on an answer about the target: a session whose node has stopped is UNAVAILABLE at once', async () => {
    const { bus, router } = await setUp(0);
    await expect(inCall(() => router.send('left', frame))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: "session left's node stopped is gone" });
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

/**
 * Nodes on one memory broker, each a router over sessions held in a map, all
 * sharing one view of where sessions live (presence, without its lag).
 */
async function cluster(...ids: string[]) {
  const broker = new MemoryBroker();
  const where = new Map<string, string>();
  /** `presence: false`: an emitter's view, which asks instead. */
  const node = async (id: string, { presence = true } = {}) => {
    const bus = new MemoryBus(id, broker);
    const subscriptions = new TopicSubscriptions(bus);
    const sessions = new Map<string, Session>();
    const moved = new Map<string, string>();
    const lookup = { get: (s: string) => sessions.get(s), movedTo: (s: string) => moved.get(s) };
    const locator = new SessionLocator(bus, { heartbeatTimeoutMs: 1_000 });
    const routes = new SessionRoutes(bus, lookup, locator, presence ? directory(where) : null);
    const router = new CallbackRouter(bus, subscriptions, lookup, routes, new NodeEvents());
    /** Session callbacks this node's bus received, by the session's id and the callback's first argument. */
    const reached: Array<[string, unknown]> = [];
    await bus.start((message, address) => {
      if (message.type === 'callback' && message.to) reached.push([message.to.sessionId, message.args[0]]);
      if (message.type === 'callback' || message.type === 'reply') router.handle(message, address);
      else if (message.type === 'session-moved') routes.moved(message);
      else if (message.type === 'session-located') locator.handle(message);
      else if (message.type === 'session-locate' && presence) {
        const session = sessions.get(message.sessionId);
        void bus.publish(nodeAddress(message.nodeId), {
          type: 'session-located',
          correlationId: message.correlationId,
          nodeId: id,
          session: session ? ({ id: session.id } as never) : null,
          nodes: ids.length,
        });
      }
    });
    /** A connected session here, subscribed to `topics`. */
    const connect = async (sessionId: string, answer: (frame: CallbackFrame) => Promise<Ack> = async () => ({ ok: true, result: `${sessionId} on ${id}` }), ...topics: string[]) => {
      const session = new Session(sessionId, null, 10, 10);
      const connection = new AnsweringConnection(answer);
      session.attach(connection);
      sessions.set(sessionId, session);
      where.set(sessionId, id);
      for (const topic of topics) await subscriptions.subscribe(topic, sessionId);
      return connection;
    };
    /** The session moves from here to `to`, whose presence is announced at once: the others' routes to here are stale. */
    const moveTo = async (sessionId: string, to: { id: string; connect: (sessionId: string) => Promise<AnsweringConnection> }) => {
      sessions.delete(sessionId);
      moved.set(sessionId, to.id);
      return to.connect(sessionId);
    };
    return { id, bus, router, sessions, reached, connect, moveTo };
  };
  const nodes = [];
  for (const id of ids) nodes.push(await node(id));
  return { nodes, where, emitter: () => node('emitter', { presence: false }) };
}

describe('CallbackRouter between nodes', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  const twoNodes = async () => (await cluster('a', 'b')).nodes;

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
    await expect(a.router.request('ann', frame, 1_000)).resolves.toBe('ann on b');
    await expect(a.router.request('bob', frame, 1_000)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('is UNAVAILABLE for a session no node holds, once every node said so, and TIMEOUT for one that does not answer', async () => {
    const [a, b] = await twoNodes();
    await b.connect('mute', () => new Promise(() => undefined));
    const asked = performance.now();
    await expect(a.router.request('nobody', frame, 10_000)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'no node holds session nobody' });
    await expect(a.router.send('nobody', frame)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(performance.now() - asked).toBeLessThan(1_000); // not the locate's timeout
    await expect(a.router.request('mute', frame, 50)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('finds a session presence does not know of yet by asking every node', async () => {
    const { nodes: [a, b], where } = await cluster('a', 'b');
    const ann = await b.connect('ann');
    where.delete('ann');
    await a.router.send('ann', frame);
    await settle();
    expect(ann.received).toHaveLength(1);
  });

  it('passes a callback for a session that moved on to its new node, and answers one for a session that ended', async () => {
    const [a, b, c] = (await cluster('a', 'b', 'c')).nodes;
    await b.connect('moving');
    await b.connect('ending');
    await a.router.send('moving', frame); // a's route to it: b
    await b.moveTo('moving', c);
    b.sessions.delete('ending'); // presence has not heard yet
    await expect(a.router.request('moving', frame, 1_000)).resolves.toBe('moving on c');
    await expect(a.router.request('ending', frame, 1_000)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'session ending ended' });
  });

  it('tells a sender that remembers where a session was that it ended there, so its next callback is UNAVAILABLE', async () => {
    const { nodes: [, b], where, emitter } = await cluster('a', 'b');
    const sender = await emitter();
    const ann = await b.connect('ann');
    await sender.router.send('ann', { ...frame, args: [1] }); // found by asking, then remembered
    b.sessions.delete('ann');
    where.delete('ann');
    await sender.router.send('ann', { ...frame, args: [2] }); // on its way when it ended: dropped, and the sender told
    await settle();
    await expect(sender.router.send('ann', { ...frame, args: [3] })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'no node holds session ann' });
    expect(ann.received.map((r) => r.args[0])).toEqual([1]);
  });

  it("keeps one sender's callbacks in order across a move, then sends straight to the new node", async () => {
    const [a, b, c] = (await cluster('a', 'b', 'c')).nodes;
    const before = await b.connect('ann');
    await a.router.send('ann', { ...frame, args: [1] });
    await settle();
    const after = await b.moveTo('ann', c);
    // Sent back to back while presence already names c: the first goes to b, which passes it on, so the rest follow it.
    await Promise.all([2, 3, 4].map((n) => a.router.send('ann', { ...frame, args: [n] })));
    await settle();
    await a.router.send('ann', { ...frame, args: [5] });
    await settle();
    expect(before.received.map((r) => r.args[0])).toEqual([1]);
    expect(after.received.map((r) => r.args[0])).toEqual([2, 3, 4, 5]);
    expect(b.reached.map(([, n]) => n)).toEqual([1, 2, 3, 4]); // 5 went straight to c
  });

  it('delivers to a session on its own node at once, without the broker, requests included', async () => {
    const [a] = await twoNodes();
    const ann = await a.connect('ann');
    void a.router.send('ann', { ...frame, args: [1] });
    expect(ann.received).toEqual([{ args: [1], seq: 1 }]); // before any turn of the event loop
    await expect(a.router.request('ann', frame, 1_000)).resolves.toBe('ann on a');
    await settle();
    expect(a.reached).toEqual([]);
  });

  it("delivers a topic callback to its own node's subscribers at once, and once: the broker's copy is dropped there", async () => {
    const [a, b] = await twoNodes();
    const here = await a.connect('here', undefined, 'party');
    const there = await b.connect('there', undefined, 'party');
    const published = a.router.publish('party', { ...frame, args: [1] });
    expect(here.received).toHaveLength(1);
    await published;
    await settle();
    expect([here.received.length, there.received.length]).toEqual([1, 1]);
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
