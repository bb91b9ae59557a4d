import { afterEach, describe, expect, it } from '@jest/globals';
import type { BusMessage, PresenceSession } from '../cluster/bus-message';
import { MemoryBroker, MemoryBus } from '../cluster/memory-bus';
import { ClusterPresence } from './cluster-presence';

const timing = { heartbeatMs: 20, heartbeatTimeoutMs: 100, sessionGraceMs: 50 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Several nodes in one process, on one memory broker. */
class TestNode {
  readonly bus: MemoryBus;
  readonly presence: ClusterPresence;
  readonly sessions: PresenceSession[] = [];
  readonly ended: string[] = [];
  readonly evicted: string[] = [];

  constructor(
    nodeId: string,
    readonly broker: MemoryBroker,
  ) {
    this.bus = new MemoryBus(nodeId, broker);
    this.presence = new ClusterPresence(
      this.bus,
      timing,
      () => this.sessions,
      async (session) => void this.ended.push(session.id),
      (id) => void this.evicted.push(id),
    );
  }

  async start(): Promise<void> {
    this.presence.start();
    await this.bus.start(
      (message: BusMessage) => {
        if (message.type === 'heartbeat' || message.type === 'session-update' || message.type === 'session-gone') {
          this.presence.handle(message);
        }
      },
      () => this.presence.busUp(),
    );
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
    node.sessions.push(...sessionIds.map((sessionId) => ({ id: sessionId, identity: null, topics: [], attributes: {} })));
    nodes.push(node);
    await node.start();
    return node;
  };

  const cluster = async (...ids: string[]) => {
    const broker = new MemoryBroker();
    const started: TestNode[] = [];
    for (const id of ids) started.push(await startNode(id, broker));
    return started;
  };

  it('learns the other nodes and their sessions from heartbeats', async () => {
    const [a, b] = await cluster('a', 'b');
    b.sessions.push({ id: 's1', identity: null, topics: ['party'], attributes: { guestName: 'ann' } });
    await sleep(60);
    expect(a.presence.liveNodes().sort()).toEqual(['a', 'b']);
    expect(a.presence.find('s1')).toMatchObject({ attributes: { guestName: 'ann' } });
    expect(a.presence.remoteMembers('party').map((s) => s.id)).toEqual(['s1']);
  });

  it('ends a dead node\'s sessions once, on one survivor, after timeout and grace', async () => {
    const [a, b, c] = await cluster('a', 'b', 'c');
    c.sessions.push({ id: 'x', identity: null, topics: [], attributes: {} }, { id: 'y', identity: null, topics: [], attributes: {} });
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
    b.sessions.push({ id: 'mover', identity: null, topics: [], attributes: {} });
    await sleep(60);
    await b.crash();
    a.sessions.push({ id: 'mover', identity: null, topics: [], attributes: {} }); // resumed on a
    await sleep(timing.heartbeatTimeoutMs + timing.sessionGraceMs + 100);
    expect(a.ended).toEqual([]);
  });

  it('forgives a node that comes back within the grace period', async () => {
    const [a, b] = await cluster('a', 'b');
    b.sessions.push({ id: 's', identity: null, topics: [], attributes: {} });
    await sleep(60);
    await b.crash();
    await sleep(timing.heartbeatTimeoutMs + 30); // declared dead, grace running
    await startNode('b', b.broker, 's');
    await sleep(timing.sessionGraceMs + 100);
    expect(a.ended).toEqual([]);
  });

  it('ends the sessions of a node restarted under the same id, even within the grace period', async () => {
    const [a, b] = await cluster('a', 'b');
    b.sessions.push({ id: 'old', identity: null, topics: [], attributes: {} });
    await sleep(60);
    await b.crash();
    await startNode('b', b.broker, 'new'); // a new process: new incarnation, new sessions
    await sleep(timing.sessionGraceMs + 60);
    expect(a.ended).toEqual(['old']);
  });

  it('starts the grace period at once for a node that says it is leaving', async () => {
    const [a, b] = await cluster('a', 'b');
    b.sessions.push({ id: 'polite', identity: null, topics: [], attributes: {} });
    await sleep(60);
    await b.leave();
    await sleep(timing.sessionGraceMs + 30); // well before the heartbeat timeout
    expect(a.ended).toEqual(['polite']);
  });

  it('evicts a local copy of a session that another node announces', async () => {
    const [a, b] = await cluster('a', 'b');
    b.presence.announce({ id: 'moved', identity: null, topics: [], attributes: {} });
    await sleep(10);
    expect(a.evicted).toEqual(['moved']);
  });
});
