import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { boxOfficeContract } from '../../apps/demo/src/box-office/box-office.contract';
import { seatBookingContract } from '../../apps/demo/src/seat-booking/seat-booking.contract';
import { DuplexClient, type SessionFrame } from '@nest-duplex/client';
import { Clients, eventually, settle } from '../support/clients';
import { ComposeProject, ThroughBalancer } from '../support/compose';
import { freePort } from '../support/node-process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Building the node image runs `npm ci` inside Docker; the first build takes a minute or two. */
const UP_MS = 8 * 60_000;

/**
 * docker-compose.yml as users run it: RabbitMQ, demo nodes and HAProxy in
 * containers, clients only at the load balancer's address on loopback.
 */
describe('docker compose cluster behind the load balancer', () => {
  const clients = new Clients();
  let project: ComposeProject;
  let lb: string;
  let balancer: ThroughBalancer;

  beforeAll(async () => {
    const port = await freePort();
    lb = `http://127.0.0.1:${port}`;
    balancer = new ThroughBalancer(lb, clients);
    project = await ComposeProject.open(`duplexsmoke${Date.now().toString(36)}`, {
      LB_PORT: String(port),
      RABBITMQ_MANAGEMENT_PORT: String(await freePort()),
      BOX_OFFICE_EVERY_MS: '500',
      BOX_OFFICE_SHOWS: 'smoke-box-office',
    });
    await project.withLogs(async () => {
      await project.compose('up', '-d', '--build', '--scale', 'node=2');
      await balancer.clusterOf(2);
    });
  }, UP_MS);
  afterAll(async () => {
    clients.closeAll();
    await project?.compose('down', '-v', '--remove-orphans');
  }, 120_000);

  it('serves the demo page and Prometheus metrics through the balancer', async () => {
    const page = await fetch(lb);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="app.js">');
    const metrics = await (await fetch(`${lb}/metrics`)).text();
    expect(metrics).toMatch(/^duplex_cluster_nodes\{node="[^"]+"\} 2$/m);
  });

  it('runs the box office beside the nodes: its announcements reach a watcher, and it is not a node', async () => {
    const heard: string[] = [];
    const watcher = await clients.connect(lb);
    watcher.service(boxOfficeContract, { announcement: (show, text) => void heard.push(`${show}: ${text}`) });
    await watcher.service(seatBookingContract).getSeatMap('smoke-box-office');
    await eventually(() => heard.length >= 2, 'two announcements from the box office', 10_000);
    expect(heard[0]).toMatch(/^smoke-box-office: (doors open in \d+ minutes|the doors are open)$/);
    expect(await (await fetch(`${lb}/metrics`)).text()).toMatch(/^duplex_cluster_nodes\{node="[^"]+"\} 2$/m);
  });

  it('carries a callback from a client on one node to a client on another', async () => {
    const { from, to } = await balancer.callbackAcrossNodes();
    expect(from).not.toBe(to);
  });

  it('scales out: a third node joins, and the balancer sends new clients to it', async () => {
    await project.withLogs(async () => {
      const before = new Set((await balancer.health())!.nodes);
      await project.compose('up', '-d', '--no-recreate', '--scale', 'node=3');
      await balancer.clusterOf(3);
      const newcomer = await balancer.clientOnAnotherNode(before);
      expect(before.has(newcomer.nodeId!)).toBe(false);
    });
  }, UP_MS);

  it('restarts the nodes one at a time under load, each drained: nothing acknowledged lost, no callback lost untold, no guest left or doubled', async () => {
    await project.withLogs(async () => {
      // Guests through the balancer, reconnecting as the SDK does by default; a few of them keep beer runs going.
      const guests = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const name = `rolling-${i}`;
          const client = new DuplexClient(lb, { onError: () => undefined });
          const sessions: SessionFrame[] = [];
          const values: number[] = [];
          const left: string[] = [];
          client.onSession((frame) => void sessions.push(frame));
          const party = client.service(beerInventoryContract, {
            notifyBeerInventoryChanged: (_who, n) => void values.push(n),
            notifyGuestJoinedParty: () => undefined,
            notifyGuestLeftParty: (who) => void left.push(who),
          });
          await client.ready();
          await party.joinTheParty(name);
          return { name, client, party, sessions, values, left };
        }),
      );
      try {
        const start = await guests[0].party.joinTheParty(guests[0].name);
        const tally = { acked: 0, unknown: 0, running: true };
        const runs = guests.slice(0, 5).map(async (guest) => {
          while (tally.running) {
            await guest.party.makeBeerRun(guest.name, 1).then(
              () => tally.acked++,
              (error: { code?: string }) => error.code !== 'UNAVAILABLE' && tally.unknown++,
            );
            await settle(50);
          }
        });
        const containers = (await project.compose('ps', '-q', 'node')).split('\n').map((id) => id.trim()).filter(Boolean);
        expect(containers).toHaveLength(3);
        for (const container of containers) {
          // SIGTERM: the node drains, then stops; Docker starts it again, and the balancer lets it back in.
          await run('docker', ['restart', '--time', '30', container]);
          await balancer.clusterOf(3);
        }
        await settle(2_000);
        tally.running = false;
        await Promise.all(runs);
        await settle(1_000);

        expect(tally.unknown).toBe(0);
        expect(tally.acked).toBeGreaterThan(20);
        const party = await guests[0].party.getParty();
        expect(party.inventory).toBe(start + tally.acked);
        // Everyone still at the party, once, and nobody heard anyone leave.
        for (const guest of guests) expect(party.guests.filter((g) => g === guest.name)).toHaveLength(1);
        expect(guests.flatMap((g) => g.left)).toEqual([]);
        // Every guest moved at least once and kept its session; a guest told of no gap got every callback, none twice.
        expect(guests.filter((g) => g.sessions.length > 1).length).toBeGreaterThan(20);
        const untold = guests.filter((g) => g.sessions.slice(1).every((s) => s.missed === 0));
        expect(untold.length).toBeGreaterThan(25);
        for (const guest of guests) {
          expect(guest.sessions.slice(1).filter((s) => !s.resumed)).toEqual([]);
          const got = guest.values.filter((v) => v > start);
          expect(new Set(got).size).toBe(got.length);
          if (untold.includes(guest)) expect(got.length).toBe(tally.acked);
        }
      } finally {
        for (const guest of guests) guest.client.close();
      }
    });
  }, UP_MS);
});
