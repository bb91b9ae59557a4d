import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { echoContract } from '../../apps/demo/src/echo/echo.contract';
import { statusContract } from '../../apps/demo/src/status/status.contract';
import { Clients, eventually, settle } from '../support/clients';
import { startClusterNode, suitePrefix } from '../support/cluster';
import type { NodeProcess } from '../support/node-process';
import { PrivateBroker } from '../support/private-broker';

const healthy = async (node: NodeProcess) => (await fetch(`${node.url}/health`).catch(() => null))?.status === 200;

/**
 * A broker this suite owns (its own port and data), so stopping it disturbs
 * no one else on the machine.
 */
describe('a broker restart', () => {
  const prefix = suitePrefix('restart');
  const clients = new Clients();
  let broker: PrivateBroker;
  let nodes: NodeProcess[] = [];

  beforeAll(async () => {
    broker = await PrivateBroker.create();
    await broker.start();
    // Generous grace: the two nodes reconnect at slightly different moments, and must not
    // take each other for dead meanwhile.
    const env = { SESSION_GRACE_MS: '8000', AMQP_MAX_BACKOFF_MS: '500' };
    nodes = await Promise.all([1, 2].map((i) => startClusterNode(i, { prefix, url: broker.url, env })));
  }, 120_000);
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await broker?.destroy();
  });

  it('answers UNAVAILABLE during the outage, keeps sockets up, and flows again after it', async () => {
    const heard: string[] = [];
    const ann = await clients.connect(nodes[0].url);
    const annParty = ann.service(beerInventoryContract, {
      notifyBeerInventoryChanged: (who, n) => void heard.push(`${who} -> ${n}`),
      notifyGuestJoinedParty: (who) => void heard.push(`joined ${who}`),
      notifyGuestLeftParty: (who) => void heard.push(`left ${who}`),
    });
    const ben = await clients.connect(nodes[1].url);
    const benParty = ben.service(beerInventoryContract, { notifyBeerInventoryChanged: () => undefined, notifyGuestJoinedParty: () => undefined });
    ben.service(echoContract, { answer: (q) => `ben: ${q}` });
    const annEcho = ann.service(echoContract);
    await annParty.joinTheParty('ann');
    await benParty.joinTheParty('ben');
    await eventually(() => heard.includes('joined ben'), 'ben joined across nodes');

    await broker.stop();
    await eventually(async () => !(await healthy(nodes[0])) && !(await healthy(nodes[1])), 'both nodes to notice', 15_000);

    await expect(annEcho.askSession(ben.sessionId!, 'there?')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(benParty.makeBeerRun('ben', 1)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(ann.service(statusContract).dataUpdated()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect([ann.socket.connected, ben.socket.connected]).toEqual([true, true]);

    await broker.start();
    await eventually(async () => (await healthy(nodes[0])) && (await healthy(nodes[1])), 'both nodes to reconnect', 30_000);

    // Bindings are back: topic, session and node routes all work across nodes again.
    await benParty.makeBeerRun('ben', 2);
    await eventually(() => heard.some((h) => h.startsWith('ben -> ')), 'the beer run to cross nodes', 10_000);
    await expect(annEcho.askSession(ben.sessionId!, 'back?')).resolves.toBe('ben: back?');
    await settle(2_000);
    // Nobody was taken for dead while the broker was away.
    expect(heard.filter((h) => h.startsWith('left'))).toEqual([]);
  });

  it('loses no acknowledged state change and applies none twice across the restart', async () => {
    const quiet = { notifyGuestJoinedParty: () => undefined, notifyGuestLeftParty: () => undefined, notifyBeerInventoryChanged: () => undefined };
    const join = async (node: NodeProcess, name: string) => {
      const party = (await clients.connect(node.url, { callTimeoutMs: 30_000 })).service(beerInventoryContract, quiet);
      return { party, inventory: await party.joinTheParty(name) };
    };
    const runners = [await join(nodes[0], 'runner-a'), await join(nodes[1], 'runner-b')];
    const start = runners[1].inventory;

    let running = true;
    let acknowledged = 0;
    let refused = 0;
    const loops = runners.map(async ({ party }, i) => {
      while (running) {
        try {
          await party.makeBeerRun(i === 0 ? 'runner-a' : 'runner-b', 1);
          acknowledged++;
        } catch (error) {
          expect(error).toMatchObject({ code: 'UNAVAILABLE' }); // refused before it was accepted
          refused++;
        }
        await settle(20);
      }
    });

    await settle(500);
    await broker.stop();
    await settle(1_000);
    await broker.start();
    await eventually(async () => (await healthy(nodes[0])) && (await healthy(nodes[1])), 'both nodes to reconnect', 30_000);
    await settle(500);
    running = false;
    await Promise.all(loops);
    expect(refused).toBeGreaterThan(0); // the outage really happened under load

    // A session's calls run in order: this read answers after all its accepted runs applied.
    await Promise.all(runners.map(({ party }, i) => party.joinTheParty(i === 0 ? 'runner-a' : 'runner-b')));
    const expected = start + acknowledged;
    let answers: number[] = [];
    let readers = 0;
    await eventually(async () => {
      answers = await Promise.all(nodes.map(async (node) => (await join(node, `reader-${++readers}`)).inventory));
      return answers.every((n) => n === expected);
    }, `both nodes to answer ${expected}`, 15_000);
    expect(answers).toEqual([expected, expected]);
  });
});
