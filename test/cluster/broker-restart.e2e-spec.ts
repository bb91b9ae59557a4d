import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { echoContract } from '../../apps/demo/src/echo/echo.contract';
import { statusContract } from '../../apps/demo/src/status/status.contract';
import { beerParty } from '../support/beer-party';
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

  it('loses nothing for a node whose broker connection blips, and tells its clients of no gap', async () => {
    const { watchers, stop } = await beerParty(clients, 'blip', Array(10).fill(nodes[1]), [nodes[0]]);
    await settle(500);
    const seenBefore = watchers.map((w) => w.values.length);
    expect(broker.closeConnections(`duplex bus ${nodes[1].nodeId}`)).toBe(1);
    await eventually(async () => healthy(nodes[1]), 'node 2 to reconnect', 10_000);
    await settle(1_000);
    const { acked } = await stop();
    const all = new Set(watchers.flatMap((w) => w.values));
    expect(all.size).toBeGreaterThan(20);
    for (const [i, watcher] of watchers.entries()) {
      expect(watcher.values.length).toBeGreaterThan(seenBefore[i]);
      expect(new Set(watcher.values).size).toBe(watcher.values.length); // none twice, redelivered or not
      expect(watcher.values.length).toBe(all.size); // none lost
      expect(watcher.sessions.map((s) => s.missed)).toEqual([0]); // and no gap to tell
    }
    // Every run was acked (the runner's node kept its connection) and raised one callback each watcher got.
    expect(Math.max(...all) - Math.min(...all) + 1).toBe(all.size);
    expect(all.size).toBeLessThanOrEqual(acked);
  });


  const outages = [
    { name: 'a broker restart', tag: 'restart', down: () => broker.stop() },
    {
      name: 'a broker kill -9',
      tag: 'killed',
      down: async () => {
        // RabbitMQ 3.10 killed within a second or so of starting its stream coordinator was seen here
        // never to bring the stream back (150 s); killed later, it recovers in about a second.
        await settle(Math.max(0, broker.startedAt + 15_000 - Date.now()));
        await broker.kill();
      },
    },
  ];
  for (const outage of outages) {
    it(`loses no acknowledged state change and applies none twice across ${outage.name}`, async () => {
      const quiet = { notifyGuestJoinedParty: () => undefined, notifyGuestLeftParty: () => undefined, notifyBeerInventoryChanged: () => undefined };
      const join = async (node: NodeProcess, name: string) => {
        const party = (await clients.connect(node.url, { callTimeoutMs: 30_000 })).service(beerInventoryContract, quiet);
        return { party, inventory: await party.joinTheParty(name) };
      };
      const runners = [await join(nodes[0], `${outage.tag}-a`), await join(nodes[1], `${outage.tag}-b`)];
      const start = runners[1].inventory;

      let running = true;
      let acknowledged = 0;
      let uncertain = 0;
      const loops = runners.map(async ({ party }, i) => {
        while (running) {
          try {
            await party.makeBeerRun(i === 0 ? `${outage.tag}-a` : `${outage.tag}-b`, 1);
            acknowledged++;
          } catch (error) {
            // UNAVAILABLE: refused before it ran. TIMEOUT: its write or its callback waited out the outage (15 s)
            // and may still apply. A run that had started when the broker went waits for it, then is acked.
            expect(['UNAVAILABLE', 'TIMEOUT']).toContain((error as { code?: string }).code);
            if ((error as { code?: string }).code === 'TIMEOUT') uncertain++;
          }
          await settle(20);
        }
      });

      await settle(500);
      await outage.down();
      // The outage really happened under load: both nodes stopped serving.
      await eventually(async () => !(await healthy(nodes[0])) && !(await healthy(nodes[1])), 'both nodes to notice', 15_000);
      await settle(1_000);
      await broker.start();
      await eventually(async () => (await healthy(nodes[0])) && (await healthy(nodes[1])), 'both nodes to reconnect', 30_000);
      await settle(500);
      running = false;
      await Promise.all(loops);

      // A session's calls run in order: this read answers after all its accepted runs applied.
      await Promise.all(runners.map(({ party }, i) => party.joinTheParty(i === 0 ? `${outage.tag}-a` : `${outage.tag}-b`)));
      // Every acknowledged run applied once; a run told TIMEOUT at most once; a refused one never.
      const least = start + acknowledged;
      let answers: number[] = [];
      let readers = 0;
      await eventually(async () => {
        answers = await Promise.all(nodes.map(async (node) => (await join(node, `${outage.tag}-reader-${++readers}`)).inventory));
        return answers[0] === answers[1] && answers[0] >= least;
      }, `both nodes to agree on at least ${least}`, 15_000);
      expect(answers[0]).toBeGreaterThanOrEqual(least);
      expect(answers[0]).toBeLessThanOrEqual(least + uncertain);
    });


    it(`after ${outage.name} under load, tells every client of a possible gap and delivers none twice`, async () => {
      const { watchers, stop } = await beerParty(clients, `${outage.tag}-gap`, [nodes[0], nodes[1], nodes[0], nodes[1]], [nodes[0], nodes[1]]);
      await settle(500);
      await outage.down();
      await settle(500);
      await broker.start();
      await eventually(async () => (await healthy(nodes[0])) && (await healthy(nodes[1])), 'both nodes to reconnect', 30_000);
      const seenAfterRestart = watchers.map((w) => w.values.length);
      await settle(1_000);
      await stop();
      for (const [i, watcher] of watchers.entries()) {
        expect(new Set(watcher.values).size).toBe(watcher.values.length);
        expect(watcher.values.length).toBeGreaterThan(seenAfterRestart[i]); // flowing again
        // Their inbox did not outlive the restart: a fresh session frame on the live connection says so.
        expect(watcher.sessions.map((s) => [s.resumed, s.missed])).toEqual([
          [false, 0],
          [true, -1],
        ]);
      }
    });
  }
});
