import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { echoContract } from '../../apps/demo/src/echo/echo.contract';
import { seatBookingContract } from '../../apps/demo/src/seat-booking/seat-booking.contract';
import { statusContract } from '../../apps/demo/src/status/status.contract';
import { Clients, eventually, sessionFrame, settle } from '../support/clients';
import { delivered, removeTopology, startClusterNode, suitePrefix } from '../support/cluster';
import type { NodeProcess } from '../support/node-process';
import { io } from 'socket.io-client';
import { DuplexError } from '@nest-duplex/protocol';

/** Three real node processes on one real RabbitMQ, clients spread over them. */
describe('three nodes on RabbitMQ', () => {
  const prefix = suitePrefix('three');
  const clients = new Clients();
  let nodes: NodeProcess[] = [];

  beforeAll(async () => {
    nodes = await Promise.all([1, 2, 3].map((i) => startClusterNode(i, { prefix, env: { BEER_INITIAL_INVENTORY: '10' } })));
    // Every node has heard every other before the scenarios start.
    for (const node of nodes) {
      await eventually(async () => (await health(node)).nodes.length === 3, `${node.nodeId} to see the cluster`, 10_000);
    }
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await removeTopology(prefix);
  });

  it('calls the caller back whichever node it is on', async () => {
    for (const node of nodes) {
      const texts: string[] = [];
      const client = await clients.connect(node.url);
      await client.service(statusContract, { showStatus: (t) => void texts.push(t) }).dataUpdated();
      await eventually(() => texts.length === 3, `status callbacks on ${node.nodeId}`);
      expect(texts).toEqual([0, 1, 2].map((i) => `Call back request from Service ${i} Time`));
    }
  });

  it('gives every guest every other guest\'s notifications exactly once, in the order their node raised them', async () => {
    const names = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'];
    const guests = await Promise.all(
      names.map(async (name, i) => {
        const heard: string[] = [];
        const client = await clients.connect(nodes[i % 3].url);
        const party = client.service(beerInventoryContract, {
          notifyGuestJoinedParty: (who) => void heard.push(`joined ${who}`),
          notifyBeerInventoryChanged: (who, n) => void heard.push(`${who} -> ${n}`),
          notifyGuestLeftParty: (who) => void heard.push(`left ${who}`),
        });
        return { name, client, party, heard };
      }),
    );
    for (const guest of guests) await guest.party.joinTheParty(guest.name);
    // Each joiner is announced to everyone who joined before.
    await eventually(() => guests.every((g, i) => g.heard.length === names.length - 1 - i), 'join notifications');
    guests.forEach((g, i) => expect(g.heard).toEqual(names.slice(i + 1).map((n) => `joined ${n}`)));
    guests.forEach((g) => (g.heard.length = 0));

    // ann, ben and cat are on three different nodes and share one inventory.
    const [ann, ben, cat] = guests;
    await ann.party.makeBeerRun('ann', 5);
    await ben.party.drinkBeer('ben');
    await cat.party.drinkBeer('cat');
    await ann.party.drinkBeer('ann');
    await ben.party.makeBeerRun('ben', 2);
    await eventually(() => guests.every((g) => g.heard.length === 5), 'inventory notifications');
    await settle();
    const byOrigin = (heard: string[], who: string) => heard.filter((h) => h.startsWith(`${who} `));
    for (const guest of guests) {
      expect(guest.heard).toHaveLength(5);
      expect([...guest.heard].sort()).toEqual([...ann.heard].sort());
      // One-way calls of one guest run in order, so its notifications arrive in that order everywhere.
      for (const who of ['ann', 'ben', 'cat']) expect(byOrigin(guest.heard, who)).toEqual(byOrigin(ann.heard, who));
    }
    expect(byOrigin(ann.heard, 'ann')).toHaveLength(2);
    // Every node answers the same inventory: 10 + 5 - 1 - 1 - 1 + 2.
    for (const guest of guests.slice(0, 3)) expect(await guest.party.joinTheParty(guest.name)).toBe(14);

    await cat.party.leaveTheParty('cat');
    guests[4].client.close(); // eve disconnects
    const others = guests.filter((g) => g.name !== 'cat' && g.name !== 'eve');
    await eventually(() => others.every((g) => g.heard.filter((h) => h.startsWith('left')).length === 2), 'leaves');
    await settle(500);
    for (const guest of others) expect(guest.heard.filter((h) => h.startsWith('left')).sort()).toEqual(['left cat', 'left eve']);
  });

  it('returns a client\'s answer to a request-reply callback from node 1 to node 3, and TIMEOUT when unanswered', async () => {
    const onThree = await clients.connect(nodes[2].url);
    onThree.service(echoContract, { answer: (q) => `node 3 says ${q}` });
    const silent = await clients.connect(nodes[2].url);
    silent.service(echoContract, { answer: () => new Promise<string>(() => undefined) });
    const asker = (await clients.connect(nodes[0].url)).service(echoContract);
    expect(onThree.nodeId).not.toBe((await asker.whoAmI()).nodeId);

    await expect(asker.askSession(onThree.sessionId!, 'hello')).resolves.toBe('node 3 says hello');
    await expect(asker.askSession(silent.sessionId!, 'hello?')).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(asker.askSession('nobody', 'hello?')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('gathers one answer from each of 300 subscribers on three nodes: results, errors and TIMEOUTs, by the deadline', async () => {
    const show = `gather-${Date.now()}`;
    const behaviours = ['answers', 'throws', 'silent'] as const;
    const expected = new Map<string, unknown>();
    // Connected in groups: 300 handshakes at once would be a test of the machine, not of gather.
    for (let group = 0; group < 10; group++) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const n = group * 30 + i;
          const behaviour = behaviours[n % 3];
          const client = await clients.connect(nodes[n % 3].url);
          client.service(echoContract, {
            answer: (q) => {
              if (behaviour === 'throws') throw new DuplexError('CONFLICT', `no ${n}`);
              return behaviour === 'answers' ? `${n}: ${q}` : new Promise<string>(() => undefined);
            },
          });
          await client.service(seatBookingContract).getSeatMap(show);
          expected.set(client.sessionId!, {
            answers: { sessionId: client.sessionId, ok: true, result: `${n}: another round?` },
            throws: { sessionId: client.sessionId, ok: false, error: { code: 'CONFLICT', message: `no ${n}` } },
            silent: { sessionId: client.sessionId, ok: false, error: { code: 'TIMEOUT', message: expect.any(String) } },
          }[behaviour]);
        }),
      );
    }
    const host = (await clients.connect(nodes[0].url)).service(echoContract);
    await settle(1_000); // presence announces each subscription to the other nodes at once; a second is room for 200
    const askedAt = Date.now();
    const answers = await host.gatherAnswers(`show.${show}`, 'another round?');
    const took = Date.now() - askedAt;
    expect(answers).toHaveLength(300);
    expect(new Set(answers.map((a) => a.sessionId)).size).toBe(300);
    for (const answer of answers) expect(answer).toEqual(expected.get(answer.sessionId));
    // The silent hundred time out at the callback's 1.5 s, all together: no recipient waits on another.
    expect(took).toBeGreaterThanOrEqual(1_500);
    expect(took).toBeLessThan(1_500 + 3_000);
  });

  it('delivers a topic only to nodes with a subscriber of it', async () => {
    const show = `interest-${Date.now()}`;
    const key = `topic.show.${show}`;
    const told: string[] = [];
    for (const node of nodes.slice(0, 2)) {
      const watcher = (await clients.connect(node.url)).service(seatBookingContract, {
        seatSelected: (_, seat) => void told.push(seat),
      });
      await watcher.getSeatMap(show);
    }
    // The selector on node 3 never subscribes: node 3 has no interest in the show.
    const selector = (await clients.connect(nodes[2].url)).service(seatBookingContract);
    for (const seat of ['A1', 'A2', 'A3']) expect(await selector.selectSeat(show, seat)).toBe(true);
    await eventually(() => told.length === 6, 'both watchers told of three seats');
    const [one, two, three] = await Promise.all(nodes.map(delivered));
    expect([one[key], two[key], three[key] ?? 0]).toEqual([3, 3, 0]);
  });

  it('moves a session to the node its client resumes on, without ending it', async () => {
    const heard: string[] = [];
    const watcher = await clients.connect(nodes[0].url);
    watcher.service(beerInventoryContract, {
      notifyGuestJoinedParty: (who) => void heard.push(`joined ${who}`),
      notifyGuestLeftParty: (who) => void heard.push(`left ${who}`),
    });
    await watcher.service(beerInventoryContract).joinTheParty('watcher');
    const mover = await clients.connect(nodes[1].url);
    await mover.service(beerInventoryContract).joinTheParty('mover');
    await eventually(() => heard.includes('joined mover'), 'the mover joined');
    const { session: token } = await mover.ready();

    const resumed = io(nodes[2].url, { transports: ['websocket'], reconnection: false, auth: { session: token } });
    try {
      const frame = await sessionFrame(resumed, { ack: false });
      expect(frame).toMatchObject({ sessionId: mover.sessionId, resumed: true, nodeId: nodes[2].nodeId });
      // The old node lets go of it: its connection there is closed, and nobody hears the mover leave.
      await eventually(() => !mover.socket.connected, 'the old connection closed');
      await settle(2_500); // past heartbeat timeout and grace
      expect(heard).toEqual(['joined mover']);
    } finally {
      resumed.close();
    }
  });

  it('tells a connection whose session was resumed on another node that it was displaced; its used token then moves nothing', async () => {
    const errors: DuplexError[] = [];
    const owner = await clients.connect(nodes[0].url, { onError: (error) => void errors.push(error as DuplexError) });
    const { session: used } = await owner.ready();
    const taker = io(nodes[2].url, { transports: ['websocket'], reconnection: false, auth: { session: used } });
    const latecomer = io(nodes[1].url, { transports: ['websocket'], reconnection: false, auth: { session: used }, autoConnect: false });
    try {
      const frame = await sessionFrame(taker);
      expect(frame).toMatchObject({ sessionId: owner.sessionId, resumed: true });
      expect(frame.session).not.toBe(used);
      await eventually(() => errors.length === 1 && !owner.socket.connected, 'the owner told and closed');
      expect(errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('another connection resumed') });
      await settle(200); // the ack reaches node 3, and its announcement the others
      // The token the taker used is retired: presenting it again, on a third node, gets a session of its own.
      latecomer.connect();
      const other = await sessionFrame(latecomer, { ack: false });
      expect(other).toMatchObject({ resumed: false });
      expect(other.sessionId).not.toBe(owner.sessionId);
      await settle(300);
      expect(taker.connected).toBe(true);
    } finally {
      taker.close();
      latecomer.close();
    }
  });

  it('numbers a moved session\'s callbacks on from what its client has seen, so the client takes them', async () => {
    const show = `moving-${Date.now()}`;
    const seen: string[] = [];
    const watcher = await clients.connect(nodes[0].url);
    await watcher.service(seatBookingContract, { seatSelected: (_, seat) => void seen.push(seat) }).getSeatMap(show);
    const selector = (await clients.connect(nodes[1].url)).service(seatBookingContract);
    for (const seat of ['B1', 'B2', 'B3']) await selector.selectSeat(show, seat);
    await eventually(() => seen.length === 3, 'three seats seen on the first node');
    const { session: token } = await watcher.ready();

    // The client comes back on another node, saying what it has seen, as the SDK does.
    const moved = io(nodes[2].url, { transports: ['websocket'], reconnection: false, auth: { session: token, lastSeq: 3 } });
    try {
      const frames: Array<{ seq: number; args: unknown[] }> = [];
      moved.on('callback', (frame: { seq: number; args: unknown[] }) => void frames.push(frame));
      const session = await sessionFrame(moved, { ack: false });
      expect(session).toMatchObject({ resumed: true, missed: 0 });
      await selector.selectSeat(show, 'B4');
      await eventually(() => frames.length === 1, 'the next seat on the new node');
      // A seq at or below 3 would be dropped by a client as a replay of what it has.
      expect(frames[0]).toMatchObject({ seq: 4, args: [show, 'B4'] });
    } finally {
      moved.close();
    }
  });

  it("reaches each session of a user on three nodes exactly once, and knows where the user is", async () => {
    const signIn = async (node: NodeProcess, name: string) =>
      ((await (await fetch(`${node.url}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })).json()) as { token: string }).token;
    const heard = nodes.map(() => [] as string[]);
    const adaSessions = await Promise.all(
      nodes.map(async (node, i) => {
        const client = await clients.connect(node.url, { token: await signIn(nodes[(i + 1) % 3], 'ada') }); // a token of any node
        client.service(echoContract, { answer: () => 'ada', told: (text) => void heard[i].push(text) });
        return client.sessionId!;
      }),
    );
    const bobHeard: string[] = [];
    const bob = await clients.connect(nodes[0].url, { token: await signIn(nodes[0], 'bob') });
    const bobEcho = bob.service(echoContract, { answer: () => 'bob', told: (text) => void bobHeard.push(text) });
    await expect(clients.connect(nodes[2].url, { token: 'ada.forged' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    await eventually(async () => (await bobEcho.sessionsOf('ada')).length === 3, 'every node to know ada\'s three sessions', 10_000);
    expect((await bobEcho.sessionsOf('ada')).sort()).toEqual([...adaSessions].sort());
    expect(await bobEcho.sessionsOf('carol')).toEqual([]);

    for (let n = 1; n <= 20; n++) await bobEcho.tellUser('ada', `hello ${n}`);
    const expected = Array.from({ length: 20 }, (_, n) => `hello ${n + 1}`);
    await eventually(() => heard.every((h) => h.length >= 20), 'each of ada\'s sessions to hear 20', 10_000);
    await settle(500);
    expect(heard).toEqual([expected, expected, expected]); // once each, in order, on every node
    expect(bobHeard).toEqual([]);
  });

  it('ends a killed node\'s sessions exactly once: its guests leave for everyone, and the survivors serve on', async () => {
    const [first, doomed, third] = nodes;
    const heardOn = async (node: NodeProcess, name: string) => {
      const heard: string[] = [];
      const client = await clients.connect(node.url);
      const party = client.service(beerInventoryContract, {
        notifyGuestLeftParty: (who) => void heard.push(who),
        notifyGuestJoinedParty: () => undefined,
        notifyBeerInventoryChanged: () => undefined,
      });
      await party.joinTheParty(name);
      return heard;
    };
    const survivorA = await heardOn(first, 'stayer-1');
    const survivorB = await heardOn(third, 'stayer-3');
    await heardOn(doomed, 'doomed-a');
    await heardOn(doomed, 'doomed-b');
    await settle(700); // the doomed node's presence announcements reach the others

    const killedAt = Date.now();
    await doomed.kill();
    await eventually(() => survivorA.length === 2 && survivorB.length === 2, 'the doomed guests to leave', 10_000);
    const took = Date.now() - killedAt;
    await settle(2_000);
    expect(survivorA.sort()).toEqual(['doomed-a', 'doomed-b']);
    expect(survivorB.sort()).toEqual(['doomed-a', 'doomed-b']);
    // Heartbeat timeout (1.2 s) + grace (1 s), with room for a loaded machine.
    expect(took).toBeLessThan(1_200 + 1_000 + 2_000);

    for (const node of [first, third]) {
      const texts: string[] = [];
      const client = await clients.connect(node.url);
      await client.service(statusContract, { showStatus: (t) => void texts.push(t) }).dataUpdated();
      await eventually(() => texts.length === 3, `${node.nodeId} still serving`);
    }
  });
});

async function health(node: NodeProcess): Promise<{ nodes: string[] }> {
  return (await (await fetch(`${node.url}/health`)).json()) as { nodes: string[] };
}
