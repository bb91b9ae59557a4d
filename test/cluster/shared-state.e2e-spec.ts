import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { ALL_SEATS, SeatMap, seatBookingContract } from '../../apps/demo/src/seat-booking/seat-booking.contract';
import type { OperationsOf, ServiceProxy } from '@nest-duplex/client';
import { Clients, eventually, settle } from '../support/clients';
import { removeTopology, startClusterNode, suitePrefix } from '../support/cluster';
import type { NodeProcess } from '../support/node-process';

/** Deterministic pseudo-random numbers, so a failing race can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

interface Racer {
  seats: ServiceProxy<OperationsOf<typeof seatBookingContract>>;
  told: string[];
  won: string[];
}

const quiet = { notifyGuestJoinedParty: () => undefined, notifyGuestLeftParty: () => undefined, notifyBeerInventoryChanged: () => undefined };
let readers = 0;

/** Three (then four) real nodes sharing one state stream on the real broker. */
describe('shared state on a RabbitMQ stream', () => {
  const prefix = suitePrefix('state');
  const clients = new Clients();
  const env = { BEER_INITIAL_INVENTORY: '5', STATE_SNAPSHOT_EVERY: '50' };
  let nodes: NodeProcess[] = [];

  beforeAll(async () => {
    nodes = await Promise.all([1, 2, 3].map((i) => startClusterNode(i, { prefix, env })));
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await removeTopology(prefix);
  });

  const seatMapOn = async (node: NodeProcess, show: string) =>
    (await clients.connect(node.url)).service(seatBookingContract).getSeatMap(show);

  /** A new guest's join answers the inventory as that node's replica sees it. */
  const inventoryOn = async (node: NodeProcess) =>
    (await clients.connect(node.url)).service(beerInventoryContract, quiet).joinTheParty(`reader-${++readers}`);

  /** Reads are local: replicas agree once each has applied the same log. */
  const agreeOnSeats = async (show: string, on: NodeProcess[]) => {
    let maps: SeatMap[] = [];
    await eventually(
      async () => {
        maps = await Promise.all(on.map((node) => seatMapOn(node, show)));
        return maps.every((m) => JSON.stringify(m) === JSON.stringify(maps[0]));
      },
      'every node to answer the same seat map',
      15_000,
    );
    return maps[0];
  };

  /** Each racer tries `tries` random seats: all at once, or one every `paceMs` to stretch the race out. */
  const race = async (show: string, count: number, on: NodeProcess[], tries: number, seed: number, paceMs = 0): Promise<Racer[]> => {
    const racers: Racer[] = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const told: string[] = [];
        const client = await clients.connect(on[i % on.length].url, { callTimeoutMs: 30_000 });
        const seats = client.service(seatBookingContract, { seatSelected: (_, seat) => void told.push(seat) });
        await seats.getSeatMap(show);
        return { seats, told, won: [] };
      }),
    );
    const next = random(seed);
    const attempt = async (racer: Racer) => {
      const seat = ALL_SEATS[Math.floor(next() * ALL_SEATS.length)];
      if (await racer.seats.selectSeat(show, seat)) racer.won.push(seat);
    };
    if (paceMs === 0) {
      await Promise.all(racers.flatMap((racer) => Array.from({ length: tries }, () => attempt(racer))));
    } else {
      await Promise.all(
        racers.map(async (racer) => {
          for (let i = 0; i < tries; i++) {
            await attempt(racer);
            await settle(paceMs);
          }
        }),
      );
    }
    return racers;
  };

  it('gives each of 100 seats exactly one holder when 300 clients on three nodes race for them', async () => {
    const show = 'premiere';
    const racers = await race(show, 300, nodes, 5, 42);
    const winners = new Map<string, number>();
    for (const racer of racers) for (const seat of new Set(racer.won)) winners.set(seat, (winners.get(seat) ?? 0) + 1);
    // A racer may try a seat it already holds (answered true again): count holders, not answers.
    expect([...winners.values()].every((n) => n === 1)).toBe(true);
    const taken = [...winners.keys()];
    expect(taken.length).toBeGreaterThan(90); // 1500 tries over 100 seats leave (almost) none free

    // Everyone else was told of every seat, once; nobody was told of its own.
    await eventually(() => racers.every((r) => r.told.length === taken.length - new Set(r.won).size), 'seatSelected callbacks', 20_000);
    await settle();
    for (const racer of racers) {
      const mine = new Set(racer.won);
      expect([...racer.told].sort()).toEqual(taken.filter((seat) => !mine.has(seat)).sort());
    }

    const map = await agreeOnSeats(show, nodes);
    expect(Object.entries(map.seats).filter(([, state]) => state === 'selected').map(([seat]) => seat).sort()).toEqual(taken.sort());
  });

  it('keeps one beer inventory: never below zero, the same on every node, the arithmetic of what was applied', async () => {
    const heard: Array<{ who: string; beers: number }> = [];
    const watcher = (await clients.connect(nodes[0].url)).service(beerInventoryContract, {
      notifyBeerInventoryChanged: (who, beers) => void heard.push({ who, beers }),
      notifyGuestJoinedParty: () => undefined,
      notifyGuestLeftParty: () => undefined,
    });
    const start = await watcher.joinTheParty('watcher');
    const guest = async (name: string, node: NodeProcess) => {
      const party = (await clients.connect(node.url, { callTimeoutMs: 30_000 })).service(beerInventoryContract, quiet);
      await party.joinTheParty(name);
      return party;
    };
    const runners = await Promise.all(nodes.map((node, i) => guest(`runner-${i}`, node)));
    const drinkers = await Promise.all([...nodes, ...nodes].map((node, i) => guest(`drinker-${i}`, node)));

    let brought = 0;
    const calls: Array<Promise<unknown>> = [];
    runners.forEach((runner, i) => {
      for (let run = 0; run < 8; run++) {
        const beers = 1 + ((run + i) % 3);
        brought += beers;
        calls.push(runner.makeBeerRun(`runner-${i}`, beers));
      }
    });
    drinkers.forEach((drinker, i) => {
      for (let sip = 0; sip < 15; sip++) calls.push(drinker.drinkBeer(`drinker-${i}`));
    });
    await Promise.all(calls); // one-way: every call accepted
    // A session's calls run in order: its next request-reply answers after all its one-way calls ran.
    await Promise.all([...runners, ...drinkers].map((party, i) =>
      party.joinTheParty(i < runners.length ? `runner-${i}` : `drinker-${i - runners.length}`),
    ));

    const drunk = () => heard.filter((h) => h.who.startsWith('drinker-')).length;
    const runs = () => heard.filter((h) => h.who.startsWith('runner-')).length;
    await eventually(() => runs() === 24, 'every beer run to be announced');
    await settle(500);
    expect(heard.every((h) => h.beers >= 0)).toBe(true);
    expect(drunk()).toBeGreaterThan(0);
    const expected = start + brought - drunk();
    expect(expected).toBeGreaterThanOrEqual(0);
    // Every node answers the same final number.
    let answers: number[] = [];
    await eventually(async () => {
      answers = await Promise.all(nodes.map(inventoryOn));
      return answers.every((n) => n === expected);
    }, `every node to answer ${expected}`, 10_000);
    expect(answers).toEqual([expected, expected, expected]);
  });

  it('catches a fourth node, started after the race, up to the same seat map and inventory', async () => {
    const before = await agreeOnSeats('premiere', nodes);
    const fourth = await startClusterNode(4, { prefix, env });
    nodes.push(fourth);
    expect(fourth.output()).toMatch(/restored the state snapshot at position \d+/);
    expect(await seatMapOn(fourth, 'premiere')).toEqual(before);
    expect(await inventoryOn(fourth)).toBe(await inventoryOn(nodes[0]));
  });

  it('brings a node restarted mid-race back into agreement with the others', async () => {
    const show = 'matinee';
    const [first, second, third] = nodes;
    let raceEnded = 0;
    const racing = race(show, 60, [first, third], 25, 7, 150).then((racers) => ((raceEnded = Date.now()), racers));
    await settle(300);
    await second.kill();
    const restarted = await startClusterNode(2, { prefix, env: { ...env, PORT: String(second.port) } });
    const restartedAt = Date.now();
    nodes[1] = restarted;
    const racers = await racing;
    expect(restartedAt).toBeLessThan(raceEnded); // it really came back while the race was on
    const taken = new Set(racers.flatMap((r) => r.won));
    const map = await agreeOnSeats(show, [first, restarted, third]);
    expect(Object.entries(map.seats).filter(([, s]) => s === 'selected').map(([seat]) => seat).sort()).toEqual([...taken].sort());
  });
});
