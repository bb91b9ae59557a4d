import { afterEach, describe, expect, it } from '@jest/globals';
import { type BusMessage, isPresenceMessage, type PresenceMessage, type PresenceSession } from '../cluster/bus-message';
import { MemoryBroker, MemoryBus } from '../cluster/memory-bus';
import { EventEmitter } from 'node:events';
import type { Session } from '../runtime/session';
import type { SessionEvents } from '../runtime/session-registry';
import { ClusterPresence, type LocalSessions } from './cluster-presence';

const timing = { heartbeatMs: 20, heartbeatTimeoutMs: 100, sessionGraceMs: 50 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node's own sessions, as a list the test edits, and what presence asked of them. */
class ListedSessions extends EventEmitter<SessionEvents> implements LocalSessions {
  readonly list: PresenceSession[] = [];
  readonly evicted: string[] = [];

  presence(): PresenceSession[] {
    return this.list;
  }

  superseded(session: PresenceSession): void {
    this.evicted.push(session.id);
  }

  /** The session left this node, as the registry tells it. */
  leave(sessionId: string): void {
    const index = this.list.findIndex((s) => s.id === sessionId);
    if (index >= 0) this.list.splice(index, 1);
    this.emit('left', { id: sessionId } as Session);
  }
}

/** Several nodes in one process, on one memory broker. */
class TestNode {
  readonly bus: MemoryBus;
  readonly presence: ClusterPresence;
  readonly local = new ListedSessions();
  readonly ended: string[] = [];
  /** Presence messages this node received. */
  readonly received: PresenceMessage[] = [];
  /** Messages this node loses before handling, as a lossy network would. */
  lose: (message: PresenceMessage) => boolean = () => false;

  constructor(
    nodeId: string,
    readonly broker: MemoryBroker,
  ) {
    this.bus = new MemoryBus(nodeId, broker);
    this.presence = new ClusterPresence(this.bus, timing, this.local, {
      endedRemote: async (session) => void this.ended.push(session.id),
    });
  }

  async start(): Promise<void> {
    this.presence.start();
    await this.bus.start(
      (message: BusMessage) => {
        if (!isPresenceMessage(message) || this.lose(message)) return;
        this.received.push(message);
        this.presence.handle(message);
      },
      () => this.presence.busUp(),
    );
  }

  /** A session opens here, and the node says so, as DuplexNode does. */
  open(id: string, topics: string[] = [], attributes: Record<string, unknown> = {}): void {
    const session = { id, identity: null, topics, attributes, token: { generation: 1, confirmed: true } };
    this.local.list.push(session);
    this.presence.announce(session);
  }

  /** Dies without a word: the bus goes first, so not even a leaving heartbeat gets out. */
  async crash(): Promise<void> {
    await this.bus.close();
    await this.presence.stop();
  }

  /** Shuts down politely: the others start the grace period at once. */
  async leave(): Promise<void> {
    await this.presence.stop();
    await this.bus.close();
  }
}

describe('ClusterPresence', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.crash();
  });

  /** Starts a node on `broker` holding sessions `sessionIds`. */
  const startNode = async (id: string, broker: MemoryBroker, ...sessionIds: string[]) => {
    const node = new TestNode(id, broker);
    nodes.push(node);
    await node.start();
    for (const sessionId of sessionIds) node.open(sessionId);
    return node;
  };

  const cluster = async (...ids: string[]) => {
    const broker = new MemoryBroker();
    const started: TestNode[] = [];
    for (const id of ids) started.push(await startNode(id, broker));
    return started;
  };

  it('learns the other nodes and their sessions as they change', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('s1', ['party'], { guestName: 'ann' });
    b.open('s2');
    b.local.leave('s2');
    await sleep(60);
    expect(a.presence.liveNodes().sort()).toEqual(['a', 'b']);
    expect(a.presence.find('s1')).toMatchObject({ nodeId: 'b', live: true, session: { attributes: { guestName: 'ann' } } });
    expect(a.presence.find('s2')).toBeUndefined();
    expect(a.presence.remoteMembers('party').map((s) => s.id)).toEqual(['s1']);
  });

  it('gives a node that joins later the sessions already there, from a snapshot', async () => {
    const broker = new MemoryBroker();
    await startNode('b', broker, 's1', 's2');
    const a = await startNode('a', broker);
    await sleep(60);
    expect(a.received.filter((m) => m.type === 'presence-snapshot')).toHaveLength(1);
    expect([a.presence.find('s1')?.session.id, a.presence.find('s2')?.session.id]).toEqual(['s1', 's2']);
  });

  it("announces a turn's changes in one message, the latest state of each", async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('s1', ['party']);
    b.open('s2');
    b.open('s3');
    b.local.leave('s3');
    await sleep(5);
    const changes = a.received.filter((m) => m.type === 'presence-changes');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ updated: [{ id: 's1', topics: ['party'] }, { id: 's2' }], gone: ['s3'] });
    expect([a.presence.find('s1')?.nodeId, a.presence.find('s2')?.nodeId, a.presence.find('s3')]).toEqual(['b', 'b', undefined]);
  });

  it('catches up from a snapshot after missing a change', async () => {
    const [a, b] = await cluster('a', 'b');
    a.lose = (m) => m.type === 'presence-changes' && m.updated.some((s) => s.id === 'lost');
    b.open('lost', ['party']);
    await sleep(1); // a turn of its own
    b.open('next');
    // The next change is out of step, so a asks b at once, well before a heartbeat.
    await sleep(5);
    expect(a.received.filter((m) => m.type === 'presence-snapshot')).toHaveLength(1);
    expect(a.presence.find('next')).toBeDefined();
    expect(a.presence.remoteMembers('party').map((s) => s.id)).toEqual(['lost']);
  });

  it('notices a lost last change from the next heartbeat', async () => {
    const [a, b] = await cluster('a', 'b');
    a.lose = (m) => m.type === 'presence-changes' && m.gone.length > 0;
    b.open('s');
    await sleep(1);
    b.local.leave('s');
    await sleep(5);
    expect(a.presence.find('s')).toBeDefined();
    await sleep(timing.heartbeatMs * 3);
    expect(a.presence.find('s')).toBeUndefined();
  });

  it('keeps heartbeats the same size however many sessions a node has', async () => {
    const [a, b] = await cluster('a', 'b');
    for (let i = 0; i < 1_000; i++) b.open(`session-${i}`, ['party'], { guestName: `guest ${i}` });
    const before = a.received.length;
    await sleep(timing.heartbeatMs * 3);
    const heartbeats = a.received.slice(before).filter((m) => m.type === 'heartbeat');
    expect(heartbeats.length).toBeGreaterThan(0);
    for (const heartbeat of heartbeats) expect(JSON.stringify(heartbeat).length).toBeLessThan(200);
    expect(a.presence.remoteMembers('party')).toHaveLength(1_000);
  });

  it('ends a dead node\'s sessions once, on one survivor, after timeout and grace', async () => {
    const [a, b, c] = await cluster('a', 'b', 'c');
    c.open('x');
    c.open('y');
    await sleep(60);
    // The memory bus runs a job on the node that files it, so both survivors may run it:
    // the reaper's memory is per node, the single active consumer makes it one node on RabbitMQ.
    await c.crash();
    await sleep(timing.heartbeatTimeoutMs + timing.sessionGraceMs + 100);
    expect(a.ended.sort()).toEqual(['x', 'y']);
    expect(b.ended.sort()).toEqual(['x', 'y']);
    await sleep(200);
    expect(a.ended).toHaveLength(2);
    expect(a.presence.liveNodes().sort()).toEqual(['a', 'b']);
  });

  it('does not end a session that resumed on another node during the grace period', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('mover');
    await sleep(60);
    await b.crash();
    a.local.list.push({ id: 'mover', identity: null, topics: [], attributes: {}, token: { generation: 1, confirmed: true } }); // resumed on a
    await sleep(timing.heartbeatTimeoutMs + timing.sessionGraceMs + 100);
    expect(a.ended).toEqual([]);
  });

  it('forgives a node that comes back within the grace period', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('s');
    await sleep(60);
    await b.crash();
    await sleep(timing.heartbeatTimeoutMs + 30); // declared dead, grace running
    await startNode('b', b.broker, 's');
    await sleep(timing.sessionGraceMs + 100);
    expect(a.ended).toEqual([]);
  });

  it('ends the sessions of a node restarted under the same id, even within the grace period', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('old');
    await sleep(60);
    await b.crash();
    await startNode('b', b.broker, 'new'); // a new process: new incarnation, new sessions
    await sleep(timing.sessionGraceMs + 60);
    expect(a.ended).toEqual(['old']);
  });

  it('starts the grace period at once for a node that says it is leaving', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('polite');
    await sleep(60);
    await b.leave();
    await sleep(timing.sessionGraceMs + 30); // well before the heartbeat timeout
    expect(a.ended).toEqual(['polite']);
  });

  it('keeps a dead node\'s sessions findable, as gone, until its grace period ends', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('s');
    await sleep(60);
    await b.crash();
    await sleep(timing.heartbeatTimeoutMs + 30); // declared dead, grace running
    expect(a.presence.find('s')).toMatchObject({ nodeId: 'b', live: false });
    await sleep(timing.sessionGraceMs + 30);
    expect(a.presence.find('s')).toBeUndefined();
    expect(a.ended).toEqual(['s']);
  });

  it('takes no word from a node after its leaving snapshot: it stays gone and its sessions end once', async () => {
    const [a, b] = await cluster('a', 'b');
    b.open('polite');
    b.open('leaving-late');
    await sleep(60);
    const broker = b.broker;
    await b.presence.stop();
    b.presence.announce({ id: 'leaving-late', identity: null, topics: [], attributes: {}, token: { generation: 1, confirmed: true } }); // an end hook, after the last word
    await sleep(10);
    const last = a.received.findLast((m) => m.type === 'presence-snapshot');
    expect(last).toMatchObject({ nodeId: 'b', leaving: true });
    expect(a.received.filter((m) => m.nodeId === 'b').at(-1)).toBe(last);
    // What a slower path might still carry from that process, after its snapshot.
    const ghost = new MemoryBus('ghost', broker);
    await ghost.start(() => undefined);
    await ghost.publish({ kind: 'broadcast' }, { ...(last as PresenceMessage & { version: number; incarnation: string }), type: 'heartbeat' });
    await sleep(10);
    await b.bus.close();
    await ghost.close();
    expect(a.presence.liveNodes()).toEqual(['a']);
    await sleep(timing.sessionGraceMs + 30);
    expect(a.ended.sort()).toEqual(['leaving-late', 'polite']);
  });

  it('tells the local sessions of every session another node announces', async () => {
    const [a, b] = await cluster('a', 'b');
    b.presence.announce({ id: 'moved', identity: null, topics: [], attributes: {}, token: { generation: 1, confirmed: true } });
    await sleep(10);
    expect(a.local.evicted).toEqual(['moved']);
  });
});
