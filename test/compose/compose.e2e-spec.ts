import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { boxOfficeContract } from '../../apps/demo/src/box-office/box-office.contract';
import { seatBookingContract } from '../../apps/demo/src/seat-booking/seat-booking.contract';
import { DuplexClient, type SessionFrame } from '@nest-duplex/client';
import { Clients, eventually, settle } from '../support/clients';
import { ComposeProject } from '../support/compose';
import { freePort } from '../support/node-process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Building the node image runs `npm ci` inside Docker; the first build takes a minute or two. */
const UP_MS = 8 * 60_000;

interface Health {
  nodeId: string;
  nodes: string[];
}

/**
 * docker-compose.yml as users run it: RabbitMQ, demo nodes and HAProxy in
 * containers, clients only at the load balancer's address on loopback.
 */
describe('docker compose cluster behind the load balancer', () => {
  const clients = new Clients();
  let project: ComposeProject;
  let lb: string;

  const health = async (): Promise<Health | undefined> => {
    const response = await fetch(`${lb}/health`).catch(() => undefined);
    return response?.ok ? ((await response.json()) as Health) : undefined;
  };
  /**
   * Resolves when `count` nodes answer through the balancer (its health
   * checks have let them in) and each sees a cluster of `count`.
   */
  const clusterOf = async (count: number) => {
    const answered = new Set<string>();
    await eventually(
      async () => {
        const answer = await health();
        if (answer?.nodes.length === count) answered.add(answer.nodeId);
        return answered.size === count;
      },
      `${count} nodes answering through the balancer`,
      120_000,
    );
  };
  /**
   * Connects through the balancer until a client lands on a node not in
   * `avoid`, 20 attempts 200 ms apart. Paced, not back to back: in CI, 20
   * connections made at once right after a new replica passed its health
   * check all landed on the old ones (cause not found; see the note).
   */
  const clientOnAnotherNode = async (avoid: Set<string>): Promise<DuplexClient> => {
    const landed: Record<string, number> = {};
    for (let attempt = 0; attempt < 20; attempt++) {
      const client = await clients.connect(lb);
      if (!avoid.has(client.nodeId!)) return client;
      landed[client.nodeId!] = (landed[client.nodeId!] ?? 0) + 1;
      client.close();
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`20 connections through the balancer all landed on ${JSON.stringify(landed)}`);
  };

  /** A failure's message carries what the services printed. */
  const withLogs = async (steps: () => Promise<void>) => {
    try {
      await steps();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- compose logs ---\n${await project.logs()}`);
    }
  };

  beforeAll(async () => {
    const port = await freePort();
    lb = `http://127.0.0.1:${port}`;
    project = await ComposeProject.open(`duplexsmoke${Date.now().toString(36)}`, {
      LB_PORT: String(port),
      RABBITMQ_MANAGEMENT_PORT: String(await freePort()),
      BOX_OFFICE_EVERY_MS: '500',
      BOX_OFFICE_SHOWS: 'smoke-box-office',
    });
    await withLogs(async () => {
      await project.compose('up', '-d', '--build', '--scale', 'node=2');
      await clusterOf(2);
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
    const show = `smoke-${Date.now()}`;
    const first = await clients.connect(lb);
    const second = await clientOnAnotherNode(new Set([first.nodeId!]));
    const told: string[] = [];
    const seats = first.service(seatBookingContract);
    const watcher = second.service(seatBookingContract, { seatSelected: (_, seat) => void told.push(seat) });
    await seats.getSeatMap(show);
    await watcher.getSeatMap(show);

    expect(await seats.selectSeat(show, 'B2')).toBe(true);
    await eventually(() => told.length === 1, 'seatSelected on the other node');
    expect(told).toEqual(['B2']);
    expect((await watcher.getSeatMap(show)).seats.B2).toBe('selected');
  });

  it('scales out: a third node joins, and the balancer sends new clients to it', async () => {
    await withLogs(async () => {
      const before = new Set((await health())!.nodes);
      await project.compose('up', '-d', '--no-recreate', '--scale', 'node=3');
      await clusterOf(3);
      const newcomer = await clientOnAnotherNode(before);
      expect(before.has(newcomer.nodeId!)).toBe(false);
    });
  }, UP_MS);

  it('restarts the nodes one at a time under load, each drained: nothing acknowledged lost, no callback lost untold, no guest left or doubled', async () => {
    await withLogs(async () => {
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
          await clusterOf(3);
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
