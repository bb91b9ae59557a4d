import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { beerInventoryContract } from '../apps/demo/src/beer-inventory/beer-inventory.contract';
import { echoContract } from '../apps/demo/src/echo/echo.contract';
import { seatBookingContract } from '../apps/demo/src/seat-booking/seat-booking.contract';
import { statusContract } from '../apps/demo/src/status/status.contract';
import { DuplexClient, DuplexError } from '@nest-duplex/client';
import { Clients, eventually, settle } from './support/clients';
import { NodeProcess, startNode } from './support/node-process';

/** JSON of arrays nested `depth` deep around `inner`: `nested(2)` is `[[]]`. */
const nested = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);
let rawIds = 900_000;

/**
 * Emits `call` with `frameJson` as the frame, written as raw Socket.IO text: past socket.io-client's
 * encoder, which recurses (as JSON.stringify does) and cannot send what a client in another language can.
 */
function rawCall(client: DuplexClient, frameJson: string): Promise<unknown> {
  const engine = client.socket.io.engine;
  const id = ++rawIds;
  return new Promise((resolve) => {
    const onMessage = (data: unknown) => {
      const ack = /^3(\d+)(\[.*)$/s.exec(String(data));
      if (!ack || Number(ack[1]) !== id) return;
      engine.off('message', onMessage);
      resolve((JSON.parse(ack[2]) as unknown[])[0]);
    };
    engine.on('message', onMessage);
    engine.write(`2${id}["call",${frameJson}]`);
  });
}

/** One real node on the memory bus, real socket.io-client connections. */
describe('one node, memory bus', () => {
  let node: NodeProcess;
  const clients = new Clients();

  beforeAll(async () => {
    // AMQP_URL empty: this suite is the memory bus, even when the environment names a broker.
    node = await startNode({ BEER_INITIAL_INVENTORY: '2', AMQP_URL: '' });
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => node?.stop());

  describe('status', () => {
    it('answers one dataUpdated() with exactly three showStatus callbacks, in order', async () => {
      const texts: string[] = [];
      const client = await clients.connect(node.url);
      const status = client.service(statusContract, { showStatus: (text) => void texts.push(text) });
      await status.dataUpdated();
      await eventually(() => texts.length >= 3, 'three showStatus callbacks');
      await settle();
      expect(texts).toEqual([
        'Call back request from Service 0 Time',
        'Call back request from Service 1 Time',
        'Call back request from Service 2 Time',
      ]);
    });

    it('calls back only the caller', async () => {
      const others: string[] = [];
      (await clients.connect(node.url)).service(statusContract, { showStatus: (t) => void others.push(t) });
      const texts: string[] = [];
      const status = (await clients.connect(node.url)).service(statusContract, { showStatus: (t) => void texts.push(t) });
      await status.dataUpdated();
      await eventually(() => texts.length === 3, 'three showStatus callbacks');
      await settle();
      expect(others).toEqual([]);
    });

    it('speaks the documented protocol to a client that has only socket.io-client', async () => {
      const script = join(__dirname, '..', 'examples', 'raw-protocol-status.js');
      const { stdout } = await promisify(execFile)(process.execPath, [script, node.url], { timeout: 10_000 });
      expect(stdout.match(/^showStatus: .*$/gm)).toEqual([
        'showStatus: Call back request from Service 0 Time',
        'showStatus: Call back request from Service 1 Time',
        'showStatus: Call back request from Service 2 Time',
      ]);
    });
  });

  describe('beer party', () => {
    type Heard = string[];
    const guest = async (heard: Heard) => {
      const client = await clients.connect(node.url);
      const party = client.service(beerInventoryContract, {
        notifyGuestJoinedParty: (name) => void heard.push(`joined ${name}`),
        notifyBeerInventoryChanged: (name, beers) => void heard.push(`${name} -> ${beers}`),
        notifyGuestLeftParty: (name) => void heard.push(`left ${name}`),
      });
      return { client, party };
    };

    it('notifies joins, beer runs, drinks and leaves; never goes below zero; each leave once', async () => {
      const [a, b, c, d]: Heard[] = [[], [], [], []];
      const alice = await guest(a);
      const bob = await guest(b);
      const carol = await guest(c);
      const dave = await guest(d);

      expect(await alice.party.joinTheParty('alice')).toBe(2);
      expect(await bob.party.joinTheParty('bob')).toBe(2);
      expect(await carol.party.joinTheParty('carol')).toBe(2);
      await eventually(() => a.length === 2 && b.length === 1, 'join notifications');
      expect(a).toEqual(['joined bob', 'joined carol']);
      expect(b).toEqual(['joined carol']);
      expect(c).toEqual([]);

      await alice.party.makeBeerRun('alice', 3);
      for (let i = 0; i < 7; i++) await bob.party.drinkBeer('bob');
      const expected = ['alice -> 5', 'bob -> 4', 'bob -> 3', 'bob -> 2', 'bob -> 1', 'bob -> 0'];
      await eventually(() => c.length === expected.length, 'inventory notifications');
      await settle();
      expect(a.slice(2)).toEqual(expected);
      expect(b.slice(1)).toEqual(expected);
      expect(c).toEqual(expected);
      // A repeated join is idempotent and reads the inventory: it stopped at zero.
      expect(await carol.party.joinTheParty('carol')).toBe(0);

      // leaveTheParty, then the same guest's disconnect: one notification.
      await carol.party.leaveTheParty('carol');
      await eventually(() => b.includes('left carol'), 'carol\'s leave');
      carol.client.close();
      // A plain disconnect, on purpose.
      bob.client.close();
      // A lost transport: the guest leaves after the grace period.
      expect(await dave.party.joinTheParty('dave')).toBe(0);
      dave.client.socket.io.engine.close();

      await eventually(() => a.filter((x) => x.startsWith('left')).length === 3, 'three leaves');
      await settle(800); // past the grace period: any duplicate would show now
      expect(a.filter((x) => x.startsWith('left')).sort()).toEqual(['left bob', 'left carol', 'left dave']);
      expect(b.filter((x) => x.startsWith('left'))).toEqual(['left carol']);
    });

    it('refuses a name already at the party with CONFLICT, and drinking before joining with FORBIDDEN', async () => {
      const first = await guest([]);
      const second = await guest([]);
      await first.party.joinTheParty('erin');
      await expect(second.party.joinTheParty('erin')).rejects.toMatchObject({ code: 'CONFLICT' });
      // A one-way call's ack carries its handler's outcome: refused, not silently dropped.
      await expect(second.party.drinkBeer('erin')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(second.party.drinkBeer('someone-else')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await first.party.joinTheParty('erin')).toBe(0);
    });

    it('trims names, keeps a session to one name, tells the guest its own beer runs, and nothing once it left', async () => {
      const [hostHeard, ivyHeard]: Heard[] = [[], []];
      const host = await guest(hostHeard);
      await host.party.getParty();
      const ivy = await guest(ivyHeard);
      const start = await ivy.party.joinTheParty('  ivy ');
      expect((await host.party.getParty()).guests).toContain('ivy');
      await expect(ivy.party.joinTheParty('ivy-2')).rejects.toMatchObject({ code: 'CONFLICT' });
      await ivy.party.makeBeerRun('ivy', 1);
      await eventually(() => ivyHeard.length === 1 && hostHeard.length === 2, 'the beer run');
      expect(hostHeard).toEqual(['joined ivy', `ivy -> ${start + 1}`]);
      await ivy.party.getParty(); // a watcher too: leaving ends that as well
      await ivy.party.leaveTheParty(' ivy');
      await eventually(() => hostHeard.length === 3, 'the leave');
      expect(hostHeard[2]).toBe('left ivy');
      await expect(ivy.party.drinkBeer('ivy')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await host.party.joinTheParty('jack');
      await host.party.drinkBeer('jack');
      await settle();
      // The caller hears its own beer run, not its own join or leave, and no news after it left.
      expect(ivyHeard).toEqual([`ivy -> ${start + 1}`]);
      expect(hostHeard).toEqual(['joined ivy', `ivy -> ${start + 1}`, 'left ivy', `jack -> ${start}`]);
    });

    it('lets a watcher read the party and hear its news without joining', async () => {
      const seen: Heard = [];
      const watcher = await guest(seen);
      const before = await watcher.party.getParty();
      const frank = await guest([]);
      await frank.party.joinTheParty('frank');
      await frank.party.makeBeerRun('frank', 2);
      await eventually(() => seen.length === 2, 'the watcher\'s notifications');
      expect(seen).toEqual(['joined frank', `frank -> ${before.inventory + 2}`]);
      const after = await watcher.party.getParty();
      expect(after.guests).toEqual([...before.guests, 'frank']);
      expect(after.inventory).toBe(before.inventory + 2);
    });
  });

  describe('seat booking', () => {
    it('lets exactly one of 50 racing clients select a seat and tells every other one', async () => {
      const show = `race-${Date.now()}`;
      const racers = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const told: string[] = [];
          const client = await clients.connect(node.url);
          const seats = client.service(seatBookingContract, { seatSelected: (_, seat) => void told.push(seat) });
          const map = await seats.getSeatMap(show);
          expect(map.seats.E5).toBe('free');
          return { seats, told };
        }),
      );
      const answers = await Promise.all(racers.map((r) => r.seats.selectSeat(show, 'E5')));
      expect(answers.filter(Boolean)).toHaveLength(1);
      const winner = answers.indexOf(true);
      await eventually(() => racers.every((r, i) => i === winner || r.told.length === 1), 'seatSelected for 49 losers');
      await settle();
      racers.forEach((r, i) => expect(r.told).toEqual(i === winner ? [] : ['E5']));
      expect((await racers[0].seats.getSeatMap(show)).seats.E5).toBe('selected');
    });

    it('lets only the holder release; books selections; releases a leaver\'s seats', async () => {
      const show = `hall-${Date.now()}`;
      const heard: string[] = [];
      const holder = (await clients.connect(node.url)).service(seatBookingContract);
      const watcherClient = await clients.connect(node.url);
      const watcher = watcherClient.service(seatBookingContract, {
        seatSelected: (_, seat) => void heard.push(`selected ${seat}`),
        seatReleased: (_, seat) => void heard.push(`released ${seat}`),
        seatBooked: (_, seat) => void heard.push(`booked ${seat}`),
      });
      await watcher.getSeatMap(show);
      expect(await holder.selectSeat(show, 'A1')).toBe(true);
      expect(await holder.selectSeat(show, 'A2')).toBe(true);
      expect(await holder.selectSeat(show, 'A1')).toBe(true); // already mine
      await expect(watcher.releaseSeat(show, 'A1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await holder.releaseSeat(show, 'A2');
      expect(await holder.bookSeats(show)).toEqual(['A1']);
      await expect(holder.releaseSeat(show, 'A1')).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await watcher.selectSeat(show, 'B3')).toBe(true);
      watcherClient.close();
      await eventually(() => heard.length === 4, 'seat callbacks');
      const map = await holder.getSeatMap(show);
      expect(heard).toEqual(['selected A1', 'selected A2', 'released A2', 'booked A1']);
      expect([map.seats.A1, map.seats.A2]).toEqual(['booked', 'free']);
      await eventually(() => true, '');
      // The watcher left on purpose: its selection of B3 went back to the hall.
      await settle();
      expect((await holder.getSeatMap(show)).seats.B3).toBe('free');
    });
  });

  describe('seat booking rules', () => {
    it('maps 100 seats, books in hall order, refuses its own booked seat, and tells the releaser and others of releases', async () => {
      const show = `rules-${Date.now()}`;
      const heard: string[] = [];
      const bookerClient = await clients.connect(node.url);
      const seats = bookerClient.service(seatBookingContract, {
        seatSelected: (id, seat) => void heard.push(`${id} selected ${seat}`),
        seatReleased: (id, seat) => void heard.push(`${id} released ${seat}`),
        seatBooked: (id, seat) => void heard.push(`${id} booked ${seat}`),
      });
      const map = await seats.getSeatMap(show);
      expect(map.showId).toBe(show);
      expect(Object.keys(map.seats)).toHaveLength(100);
      expect(Object.keys(map.seats).slice(0, 11)).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'B1']);
      expect(Object.values(map.seats).every((state) => state === 'free')).toBe(true);
      expect(await seats.bookSeats(show)).toEqual([]);
      await expect(seats.releaseSeat(show, 'C3')).resolves.toBeUndefined(); // free: nothing to do
      expect(await seats.selectSeat(show, 'C3')).toBe(true);
      await seats.releaseSeat(show, 'C3');
      await eventually(() => heard.length === 1, 'the release, told to the releaser too');
      expect(await seats.selectSeat(show, 'J10')).toBe(true);
      expect(await seats.selectSeat(show, 'B2')).toBe(true);
      expect(await seats.bookSeats(show)).toEqual(['B2', 'J10']);
      expect(await seats.selectSeat(show, 'J10')).toBe(false); // booked, by the caller itself
      expect((await seats.getSeatMap(show)).seats).toMatchObject({ B2: 'booked', J10: 'booked', C3: 'free' });

      // Another session's selection, and its release when that session ends.
      const leaverClient = await clients.connect(node.url);
      expect(await leaverClient.service(seatBookingContract).selectSeat(show, 'D4')).toBe(true);
      leaverClient.close();
      await eventually(() => heard.length === 3, 'the leaver\'s selection and its release');
      expect(heard).toEqual([`${show} released C3`, `${show} selected D4`, `${show} released D4`]);

      // Booked seats stay booked, for another session and after their booker's session ended.
      const other = (await clients.connect(node.url)).service(seatBookingContract);
      expect(await other.selectSeat(show, 'B2')).toBe(false);
      expect(await seats.selectSeat(show, 'E5')).toBe(true);
      bookerClient.close();
      await eventually(async () => (await other.getSeatMap(show)).seats.E5 === 'free', 'the booker\'s selection freed');
      expect((await other.getSeatMap(show)).seats).toMatchObject({ B2: 'booked', J10: 'booked' });
    });
  });

  describe('echo', () => {
    it('tells the caller its session id and the node it is on', async () => {
      const client = await clients.connect(node.url);
      expect(await client.service(echoContract).whoAmI()).toEqual({ sessionId: client.sessionId, nodeId: node.nodeId });
    });
  });

  describe('request-reply callbacks', () => {
    it('returns the client\'s answer to an operation that asked its own caller, without deadlock', async () => {
      const client = await clients.connect(node.url);
      const echo = client.service(echoContract, { answer: (q) => `answer to ${q}` });
      await expect(echo.askCaller('life')).resolves.toBe('answer to life');
    });

    it('ends in TIMEOUT when the client never answers', async () => {
      const client = await clients.connect(node.url);
      const echo = client.service(echoContract, { answer: () => new Promise<string>(() => undefined) });
      await expect(echo.askCaller('anyone?')).rejects.toMatchObject({ code: 'TIMEOUT' });
      // The session still works afterwards.
      await expect(echo.wait(0, 'still here')).resolves.toBe('still here');
    });

    it('carries the client\'s error back: its code if it threw a DuplexError, else INTERNAL', async () => {
      const client = await clients.connect(node.url);
      const echo = client.service(echoContract, {
        answer: (q) => {
          if (q === 'coded') throw new DuplexError('CONFLICT', 'not that one');
          throw new Error('client broke');
        },
      });
      await expect(echo.askCaller('coded')).rejects.toMatchObject({ code: 'CONFLICT', message: 'not that one' });
      await expect(echo.askCaller('plain')).rejects.toMatchObject({ code: 'INTERNAL', message: 'client broke' });
    });

    it('waits for an async implementation: carries back what it resolves, or the code it rejects with', async () => {
      const client = await clients.connect(node.url);
      const echo = client.service(echoContract, {
        answer: async (q) => {
          await new Promise((r) => setTimeout(r, 20));
          if (q === 'no') throw new DuplexError('FORBIDDEN', 'not telling');
          return `later, ${q}`;
        },
      });
      await expect(echo.askCaller('yes')).resolves.toBe('later, yes');
      await expect(echo.askCaller('no')).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'not telling' });
    });

    it('turns a malformed answer into BAD_REQUEST for the service that asked (here, back to the caller)', async () => {
      // A raw client that answers each request-reply callback with the next raw ack payload.
      const raw = io(node.url, { transports: ['websocket'], reconnection: false });
      const answers: string[] = [];
      raw.io.engine.on('message', (data: unknown) => {
        const request = /^2(\d+)\["callback",/.exec(String(data));
        if (request) raw.io.engine.write(`3${request[1]}[${answers.shift()}]`);
      });
      try {
        await new Promise((r) => raw.once('session', r));
        const ask = async (answer: string) => {
          answers.push(answer);
          return raw.timeout(5_000).emitWithAck('call', { service: 'echo', op: 'askCaller', args: ['q'] });
        };
        const malformed = [
          'null',
          '"yes"',
          '{"ok":"true","result":"yes"}',
          '{"ok":false}',
          '{"ok":false,"error":"boom"}',
          '{"ok":false,"error":null}',
          '{"ok":false,"error":{"message":"no code"}}',
          '{"ok":false,"error":{"code":"NOPE","message":"unknown code"}}',
          '{"ok":false,"error":{"code":409,"message":"numeric code"}}',
          // A result its contract does not allow (echo.answer answers a string).
          '{"ok":true,"result":42}',
          // Nested past the limit: 10,000 deep would overflow a recursive copy of the reply.
          `{"ok":true,"result":${nested(65)}}`,
          `{"ok":true,"result":${nested(10_000)}}`,
        ];
        for (const answer of malformed) {
          expect([answer.slice(0, 60), await ask(answer)]).toEqual([
            answer.slice(0, 60),
            { ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('client answered echo.answer with') } },
          ]);
        }
        // Well-formed answers still pass: a known code (its message optional), or a result.
        expect(await ask('{"ok":false,"error":{"code":"CONFLICT","message":"taken"}}')).toEqual({
          ok: false,
          error: { code: 'CONFLICT', message: 'taken' },
        });
        expect(await ask('{"ok":false,"error":{"code":"FORBIDDEN"}}')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
        expect(await ask('{"ok":true,"result":"fine"}')).toEqual({ ok: true, result: 'fine' });
      } finally {
        raw.close();
      }
    });

    it('answers UNKNOWN_OPERATION when the client does not implement the callback', async () => {
      const echo = (await clients.connect(node.url)).service(echoContract);
      await expect(echo.askCaller('?')).rejects.toMatchObject({ code: 'UNKNOWN_OPERATION' });
    });

    it('reaches another session by id', async () => {
      const target = await clients.connect(node.url);
      target.service(echoContract, { answer: (q) => `target heard ${q}` });
      const asker = (await clients.connect(node.url)).service(echoContract);
      await expect(asker.askSession(target.sessionId!, 'hi')).resolves.toBe('target heard hi');
      await expect(asker.askSession('no-such-session', 'hi')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });
  });

  describe('ordering', () => {
    it('runs one session\'s calls in order, and concurrent operations beside them', async () => {
      const echo = (await clients.connect(node.url)).service(echoContract);
      const done: string[] = [];
      const track = (p: Promise<string>) => p.then((tag) => void done.push(tag));
      await Promise.all([track(echo.wait(300, 'slow')), track(echo.wait(0, 'fast'))]);
      expect(done).toEqual(['slow', 'fast']);
      done.length = 0;
      await Promise.all([track(echo.waitConcurrently(300, 'slow')), track(echo.waitConcurrently(0, 'fast'))]);
      expect(done).toEqual(['fast', 'slow']);
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, unknown, string]> = [
      ['a string frame', 'dataUpdated', 'BAD_REQUEST'],
      ['a null frame', null, 'BAD_REQUEST'],
      ['an array frame', ['status', 'dataUpdated'], 'BAD_REQUEST'],
      ['no op', { service: 'status', args: [] }, 'BAD_REQUEST'],
      ['a numeric service', { service: 1, op: 'dataUpdated', args: [] }, 'BAD_REQUEST'],
      ['args not an array', { service: 'status', op: 'dataUpdated', args: {} }, 'BAD_REQUEST'],
      ['an oversized call', { service: 'status', op: 'dataUpdated', args: ['x'.repeat(100_000)] }, 'BAD_REQUEST'],
      ['an unknown service', { service: 'nope', op: 'dataUpdated', args: [] }, 'UNKNOWN_SERVICE'],
      ['an unknown operation', { service: 'status', op: 'nope', args: [] }, 'UNKNOWN_OPERATION'],
      ['an inherited name', { service: 'status', op: 'constructor', args: [] }, 'UNKNOWN_OPERATION'],
      ['a prototype name', { service: 'status', op: '__proto__', args: [] }, 'UNKNOWN_OPERATION'],
      ['too few arguments', { service: 'beer-inventory', op: 'joinTheParty', args: [] }, 'INVALID_ARGUMENTS'],
      ['too many arguments', { service: 'beer-inventory', op: 'joinTheParty', args: ['a', 'b'] }, 'INVALID_ARGUMENTS'],
      ['a wrong type', { service: 'beer-inventory', op: 'makeBeerRun', args: ['a', '3'] }, 'INVALID_ARGUMENTS'],
      ['an empty name', { service: 'beer-inventory', op: 'joinTheParty', args: ['  '] }, 'INVALID_ARGUMENTS'],
      ['an out-of-range number', { service: 'beer-inventory', op: 'makeBeerRun', args: ['a', -1] }, 'INVALID_ARGUMENTS'],
      ['a malformed seat', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'Z99'] }, 'INVALID_ARGUMENTS'],
      // The limits docs/protocol.md states, at their edges.
      ['a 128-character service name', { service: 's'.repeat(128), op: 'dataUpdated', args: [] }, 'UNKNOWN_SERVICE'],
      ['a 129-character service name', { service: 's'.repeat(129), op: 'dataUpdated', args: [] }, 'BAD_REQUEST'],
      ['a 128-character op name', { service: 'status', op: 'o'.repeat(128), args: [] }, 'UNKNOWN_OPERATION'],
      ['a 129-character op name', { service: 'status', op: 'o'.repeat(129), args: [] }, 'BAD_REQUEST'],
      // Lengths count characters (Unicode code points): an emoji, two UTF-16 units, counts one.
      ['a service name of 128 emoji', { service: '\u{1F37A}'.repeat(128), op: 'dataUpdated', args: [] }, 'UNKNOWN_SERVICE'],
      ['a service name of 129 emoji', { service: '\u{1F37A}'.repeat(129), op: 'dataUpdated', args: [] }, 'BAD_REQUEST'],
      ['a guest name of 64 emoji', { service: 'beer-inventory', op: 'drinkBeer', args: ['\u{1F37A}'.repeat(64)] }, 'FORBIDDEN'],
      // ["x…"] is 4 bytes more than its x's: 65,536 bytes pass the size check (and fail the schema), 65,537 do not.
      ['arguments of 65,536 bytes', { service: 'status', op: 'dataUpdated', args: ['x'.repeat(65_532)] }, 'INVALID_ARGUMENTS'],
      ['arguments of 65,537 bytes', { service: 'status', op: 'dataUpdated', args: ['x'.repeat(65_533)] }, 'BAD_REQUEST'],
      ['a 65-character guest name', { service: 'beer-inventory', op: 'joinTheParty', args: ['g'.repeat(65)] }, 'INVALID_ARGUMENTS'],
      ['a beer run of 0', { service: 'beer-inventory', op: 'makeBeerRun', args: ['a', 0] }, 'INVALID_ARGUMENTS'],
      ['a beer run of 1,001', { service: 'beer-inventory', op: 'makeBeerRun', args: ['a', 1_001] }, 'INVALID_ARGUMENTS'],
      ['a beer run of 2.5', { service: 'beer-inventory', op: 'makeBeerRun', args: ['a', 2.5] }, 'INVALID_ARGUMENTS'],
      ['a 65-character show id', { service: 'seat-booking', op: 'getSeatMap', args: ['s'.repeat(65)] }, 'INVALID_ARGUMENTS'],
      ['a show id with a space', { service: 'seat-booking', op: 'getSeatMap', args: ['a show'] }, 'INVALID_ARGUMENTS'],
      ['an empty show id', { service: 'seat-booking', op: 'getSeatMap', args: [''] }, 'INVALID_ARGUMENTS'],
      ['seat K1', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'K1'] }, 'INVALID_ARGUMENTS'],
      ['seat A11', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'A11'] }, 'INVALID_ARGUMENTS'],
      ['seat A0', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'A0'] }, 'INVALID_ARGUMENTS'],
      ['a lower-case seat', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'a1'] }, 'INVALID_ARGUMENTS'],
      ['a seat with a leading zero', { service: 'seat-booking', op: 'selectSeat', args: ['show', 'A01'] }, 'INVALID_ARGUMENTS'],
      ['a show id with a letter outside ASCII', { service: 'seat-booking', op: 'getSeatMap', args: ['caf\u00e9'] }, 'INVALID_ARGUMENTS'],
      ['a wait of 5,001 ms', { service: 'echo', op: 'wait', args: [5_001, 'x'] }, 'INVALID_ARGUMENTS'],
      ['a 65-character tag', { service: 'echo', op: 'wait', args: [0, 't'.repeat(65)] }, 'INVALID_ARGUMENTS'],
      ['a 1,001-character question', { service: 'echo', op: 'askCaller', args: ['q'.repeat(1_001)] }, 'INVALID_ARGUMENTS'],
      ['a 129-character session id', { service: 'echo', op: 'askSession', args: ['i'.repeat(129), 'q'] }, 'INVALID_ARGUMENTS'],
    ];

    it.each(cases)('answers %s with %s while another client keeps working', async (_, frame, code) => {
      const bad = await clients.connect(node.url);
      const good = await clients.connect(node.url);
      const texts: string[] = [];
      const status = good.service(statusContract, { showStatus: (t) => void texts.push(t) });
      const [ack] = await Promise.all([bad.socket.timeout(5_000).emitWithAck('call', frame), status.dataUpdated()]);
      expect(ack).toEqual({ ok: false, error: { code, message: expect.any(String) } });
      await eventually(() => texts.length === 3, 'the good client\'s callbacks');
      // The bad client is still served too.
      await expect(bad.service(echoContract).wait(0, 'ok')).resolves.toBe('ok');
    });

    it('answers arguments nested more than 64 deep with BAD_REQUEST, 10,000 deep too, and keeps serving', async () => {
      const client = await clients.connect(node.url);
      const good = (await clients.connect(node.url)).service(echoContract);
      const call = (argsJson: string) => rawCall(client, `{"service":"echo","op":"wait","args":${argsJson}}`);
      // 64 deep, `args` itself counted, passes the depth check and fails the schema.
      expect(await call(nested(64))).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
      const tooDeep = { ok: false, error: { code: 'BAD_REQUEST', message: 'call arguments nest more than 64 arrays and objects deep' } };
      expect(await call(nested(65))).toEqual(tooDeep);
      expect(await call(nested(10_000))).toEqual(tooDeep);
      expect(await call(`[0,${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}]`)).toEqual(tooDeep);
      // Depth is checked before the size and before the service is looked up.
      expect(await call(`[${nested(65)},"${'x'.repeat(70_000)}"]`)).toEqual(tooDeep);
      expect(await rawCall(client, `{"service":"nope","op":"nope","args":${nested(65)}}`)).toEqual(tooDeep);
      // A deep frame that is not even a call's shape is still BAD_REQUEST.
      expect(await rawCall(client, nested(10_000))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      await expect(client.service(echoContract).wait(0, 'still here')).resolves.toBe('still here');
      await expect(good.wait(0, 'fine')).resolves.toBe('fine');
    });

    it('counts the UTF-8 bytes of the arguments\' compact JSON, not characters or the frame\'s text', async () => {
      const client = await clients.connect(node.url);
      const call = (argsJson: string) => rawCall(client, `{"service":"status","op":"dataUpdated","args":${argsJson}}`);
      // é is 2 bytes in UTF-8: 32,766 of them and ["…"] are 65,536 bytes, 32,767 are 65,538.
      expect(await call(JSON.stringify(['é'.repeat(32_766)]))).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
      expect(await call(JSON.stringify(['é'.repeat(32_767)]))).toEqual({
        ok: false,
        error: { code: 'BAD_REQUEST', message: 'call arguments are 65538 bytes; the limit is 65536' },
      });
      // Sent as the escape \u00e9 (6 bytes each) it counts as é; whitespace between tokens does not count.
      expect(await call(`["${'\\u00e9'.repeat(32_766)}"]`)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
      expect(await call(`["${'\\u00e9'.repeat(32_767)}"]`)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(await call(`[ "${'x'.repeat(65_532)}"${' '.repeat(10_000)}]`)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
    });

    it('refuses a session\'s call past 256 pending with UNAVAILABLE; concurrent operations are not counted', async () => {
      const echo = (await clients.connect(node.url)).service(echoContract);
      const first = echo.wait(1_500, 'first');
      const queued = Array.from({ length: 255 }, (_, i) => echo.wait(0, `queued ${i}`));
      const over = echo.wait(0, 'over');
      const beside = echo.waitConcurrently(0, 'beside');
      await expect(over).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'more than 256 calls pending for this session' });
      await expect(beside).resolves.toBe('beside');
      await expect(first).resolves.toBe('first');
      expect(await Promise.all(queued)).toHaveLength(255);
      await expect(echo.wait(0, 'after')).resolves.toBe('after');
    });

    it('answers an unknown event or a call of two frames with BAD_REQUEST, and either without an ack with protocol_error', async () => {
      const errors: unknown[] = [];
      const client = await clients.connect(node.url, { onError: (e) => void errors.push(e) });
      const ack = await client.socket.timeout(5_000).emitWithAck('hello', { x: 1 });
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      const frame = { service: 'status', op: 'dataUpdated', args: [] };
      expect(await client.socket.timeout(5_000).emitWithAck('call', frame, frame)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      client.socket.emit('call', frame);
      await eventually(() => errors.length === 1, 'protocol_error');
      client.socket.emit('hello', { x: 1 });
      await eventually(() => errors.length === 2, 'protocol_error');
      expect(errors).toEqual([expect.objectContaining({ code: 'BAD_REQUEST' }), expect.objectContaining({ code: 'BAD_REQUEST' })]);
      // Refusals are logged (the first of a window at once).
      await eventually(() => /WARN.*session \S+: unknown event "hello"; send "call"/.test(node.output()), 'the refusal\'s log line');
    });

    it('drops only the connection that sends a frame over the transport limit', async () => {
      const flooder = await clients.connect(node.url);
      const good = (await clients.connect(node.url)).service(echoContract);
      const gone = new Promise((r) => flooder.socket.on('disconnect', r));
      flooder.socket.emit('call', { service: 'status', op: 'dataUpdated', args: ['x'.repeat(2_000_000)] }, () => undefined);
      await gone;
      await expect(good.wait(0, 'fine')).resolves.toBe('fine');
      await eventually(() => /WARN.*connection closed: a frame over the transport limit \(maxHttpBufferSize, 1000000 bytes\)/.test(node.output()), 'the log line');
      // With HTTP long-polling the limit is on each request's body.
      const open = await (await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      const post = (body: string) => fetch(`${node.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body });
      expect((await post('4' + 'x'.repeat(1_000_000))).status).toBe(413);
    });

    it('closes only a connection that sends a frame that is not JSON, logs that once per 10 s however many, and keeps serving', async () => {
      // A node of its own: the log's window is fresh, whatever the other tests sent.
      const own = await startNode({ AMQP_URL: '', SESSION_GRACE_MS: '5000' });
      const local = new Clients();
      try {
        const good = (await local.connect(own.url)).service(echoContract);
        const closedAfter = async (send: (client: DuplexClient) => void | Promise<void>) => {
          const client = await local.connect(own.url);
          const gone = new Promise((r) => client.socket.on('disconnect', r));
          await send(client);
          await gone;
        };
        // What a client that writes bare NaN (Python's json does) sends.
        let token = '';
        await closedAfter(async (c) => {
          token = (await c.ready()).session;
          c.socket.io.engine.write('20["call",{"service":"echo","op":"wait","args":[NaN,"x"]}]');
        });
        await eventually(() => /WARN.*connection closed: a frame that is not a valid Socket\.IO packet/.test(own.output()), 'the log line');
        // Its session waits out the grace period like any lost connection's: it can be resumed.
        const back = io(own.url, { transports: ['websocket'], reconnection: false, auth: { session: token } });
        try {
          expect(await new Promise((r) => back.once('session', r))).toMatchObject({ resumed: true });
        } finally {
          back.close();
        }
        // A flood of them, a message that is not a Socket.IO packet, and a WebSocket message that is not even an Engine.IO packet.
        for (let i = 0; i < 20; i++) await closedAfter((c) => void c.socket.io.engine.write('2["call",NaN]'));
        await closedAfter((c) => void c.socket.io.engine.write('hello, not a Socket.IO packet'));
        await closedAfter((c) => (c.socket.io.engine.transport as unknown as { ws: { send(data: string): void } }).ws.send('not a packet'));
        await expect(good.wait(0, 'fine')).resolves.toBe('fine');
        await expect((await local.connect(own.url)).service(echoContract).wait(0, 'new')).resolves.toBe('new');
        await settle();
        expect(own.output().match(/connection closed:/g)).toHaveLength(1);
        // A request Engine.IO refuses before any connection is logged as well.
        expect((await fetch(`${own.url}/socket.io/?EIO=4&transport=polling&sid=unknown`)).status).toBe(400);
        await eventually(() => /WARN.*refused an Engine\.IO request: Session ID unknown/.test(own.output()), 'the refusal\'s log line');
      } finally {
        local.closeAll();
        await own.stop();
      }
    });

    it('refuses a malformed handshake with connect_error BAD_REQUEST', async () => {
      const raw = io(node.url, { transports: ['websocket'], reconnection: false, auth: { session: 42 } });
      try {
        const error = await new Promise<Error & { data?: unknown }>((r) => raw.once('connect_error', r));
        expect(error.data).toMatchObject({ code: 'BAD_REQUEST' });
      } finally {
        raw.close();
      }
    });
  });

  describe('sessions', () => {
    it('resumes the session on reconnect and delivers what was raised meanwhile, exactly once', async () => {
      const heard: string[] = [];
      const frank = await clients.connect(node.url, { socket: { reconnection: true, reconnectionDelay: 100 } });
      const party = frank.service(beerInventoryContract, {
        notifyGuestJoinedParty: (name) => void heard.push(`joined ${name}`),
        notifyBeerInventoryChanged: (name, n) => void heard.push(`${name} -> ${n}`),
      });
      const start = await party.joinTheParty('frank');
      const { sessionId } = frank;
      const host = (await clients.connect(node.url)).service(beerInventoryContract, {
        notifyBeerInventoryChanged: () => undefined,
      });
      await host.joinTheParty('gina');
      await eventually(() => heard.length === 1, 'gina joined');

      frank.socket.io.engine.close(); // the transport drops; the SDK reconnects on its own
      await host.makeBeerRun('gina', 2);
      await host.makeBeerRun('gina', 3);
      await eventually(() => heard.length === 3, 'the callbacks raised while frank was away');
      await settle();
      expect(heard).toEqual(['joined gina', `gina -> ${start + 2}`, `gina -> ${start + 5}`]);
      expect(frank.sessionId).toBe(sessionId);
    });

    it('replays numbered callbacks to a raw client that resumes with its token and lastSeq', async () => {
      const first = await clients.connect(node.url);
      first.service(beerInventoryContract, { notifyBeerInventoryChanged: () => undefined });
      const frames: Array<{ seq: number; args: unknown[] }> = [];
      first.socket.on('callback', (frame) => frames.push(frame));
      const party = first.service(beerInventoryContract);
      await party.joinTheParty('hank');
      await party.makeBeerRun('hank', 1);
      await party.makeBeerRun('hank', 1);
      await eventually(() => frames.length === 2, 'two callbacks');
      const token = (await first.ready()).session;
      first.socket.io.engine.close(); // drop only the transport: the session waits
      await settle(50);

      const raw = io(node.url, {
        transports: ['websocket'],
        reconnection: false,
        auth: { session: token, lastSeq: frames[0].seq },
      });
      try {
        const replayed: Array<{ seq: number; args: unknown[] }> = [];
        raw.on('callback', (frame) => replayed.push(frame));
        const session = await new Promise<{ sessionId: string; resumed: boolean; missed: number }>((r) =>
          raw.once('session', r),
        );
        expect(session).toMatchObject({ protocol: 3, sessionId: first.sessionId, resumed: true, missed: 0 });
        await eventually(() => replayed.length === 1, 'the replay');
        expect(replayed).toEqual([frames[1]]);
      } finally {
        raw.close();
      }
    });

    it('answers a call resent with its id from the session\'s record, on a new connection too: it runs once', async () => {
      const first = await clients.connect(node.url);
      const start = await first.service(beerInventoryContract).joinTheParty('ida');
      // The same session on a connection of its own (which takes it over): its callbacks come here.
      const raw = io(node.url, { transports: ['websocket'], reconnection: false, auth: { session: (await first.ready()).session } });
      const seen: number[] = [];
      raw.on('callback', (frame: { method: string; args: [string, number] }) => {
        if (frame.method === 'notifyBeerInventoryChanged') seen.push(frame.args[1]);
      });
      try {
        await new Promise((r) => raw.once('session', r));
        const call = (id: string, op: string, args: unknown[]) =>
          raw.timeout(5_000).emitWithAck('call', { service: 'beer-inventory', op, args, id });
        const run = { id: 'run-1', op: 'makeBeerRun', args: ['ida', 2] };
        expect(await call(run.id, run.op, run.args)).toEqual({ ok: true });
        expect(await call(run.id, run.op, run.args)).toEqual({ ok: true });
        // A request-reply call's result comes from the record too: not the inventory now.
        expect(await call('join-1', 'joinTheParty', ['ida'])).toEqual({ ok: true, result: start + 2 });
        expect(await call('run-2', 'makeBeerRun', ['ida', 1])).toEqual({ ok: true });
        expect(await call('join-1', 'joinTheParty', ['ida'])).toEqual({ ok: true, result: start + 2 });
        // Sent again while the first is still running: answered when it ends, run once.
        expect(await Promise.all([call('run-3', 'makeBeerRun', ['ida', 1]), call('run-3', 'makeBeerRun', ['ida', 1])])).toEqual([
          { ok: true },
          { ok: true },
        ]);
        // A refusal is an outcome too.
        expect(await call('bad-1', 'drinkBeer', ['not-ida'])).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
        expect(await call('bad-1', 'drinkBeer', ['not-ida'])).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
        expect(await call('', 'joinTheParty', ['ida'])).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
        expect(await call('x'.repeat(65), 'joinTheParty', ['ida'])).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
        await settle();
        expect(seen).toEqual([start + 2, start + 3, start + 4]);
      } finally {
        raw.close();
      }
    });

    it('opens a new session for a forged resume token', async () => {
      const victim = await clients.connect(node.url);
      const forged = `${victim.sessionId}.forged-signature`;
      const raw = io(node.url, { transports: ['websocket'], reconnection: false, auth: { session: forged } });
      try {
        const session = await new Promise<{ sessionId: string; resumed: boolean }>((r) => raw.once('session', r));
        expect(session.resumed).toBe(false);
        expect(session.sessionId).not.toBe(victim.sessionId);
      } finally {
        raw.close();
      }
    });
  });

  describe('metrics', () => {
    /** The value of one sample line of the exposition, or undefined. */
    const sample = (text: string, pattern: RegExp) => {
      const line = text.split('\n').find((l) => !l.startsWith('#') && pattern.test(l));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };

    it('lists calls and callbacks by outcome, connections, sessions and bus latency on /metrics after the scenarios', async () => {
      const client = await clients.connect(node.url);
      const status = client.service(statusContract, { showStatus: () => undefined });
      await status.dataUpdated();
      const response = await fetch(`${node.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(sample(text, /^duplex_calls_total\{.*service="status".*operation="dataUpdated".*outcome="ok"/)).toBeGreaterThan(0);
      expect(sample(text, /^duplex_calls_total\{.*service="\(unknown\)".*outcome="UNKNOWN_SERVICE"/)).toBeGreaterThan(0);
      expect(sample(text, /^duplex_calls_total\{.*service="beer-inventory".*outcome="CONFLICT"/)).toBeGreaterThan(0);
      expect(sample(text, /^duplex_callbacks_total\{.*service="status".*method="showStatus".*outcome="ok"/)).toBeGreaterThanOrEqual(3);
      expect(sample(text, /^duplex_connections\{/)).toBeGreaterThanOrEqual(1);
      expect(sample(text, /^duplex_sessions\{/)).toBeGreaterThanOrEqual(1);
      expect(sample(text, /^duplex_ready\{/)).toBe(1);
      expect(sample(text, /^duplex_bus_delivery_seconds\{.*quantile="0.99"/)).toBeGreaterThan(0);
      expect(sample(text, /^duplex_state_lag_seconds\{.*quantile="0.5"/)).toBeGreaterThan(0);
      expect(text).toMatch(/node="[^"]+"/);

      // Bus figures are read once per scrape, never carried over to the next one. A topic callback
      // goes through the bus (a callback to the caller, here on its own node, does not).
      const published = sample(text, /^duplex_bus_published_messages\{/)!;
      await client.service(seatBookingContract, { seatSelected: () => undefined }).selectSeat('metrics-show', 'A1');
      const next = await (await fetch(`${node.url}/metrics`)).text();
      expect(sample(next, /^duplex_bus_published_messages\{/)).toBeGreaterThan(published);
    });

    it('narrows /health bus latencies to the last N messages with ?recent=N, and refuses a bad N', async () => {
      type Health = { bus: { latency: { delivery: { count: number; p50: number; max: number } } } };
      const all = ((await (await fetch(`${node.url}/health`)).json()) as Health).bus.latency.delivery;
      const last = ((await (await fetch(`${node.url}/health?recent=1`)).json()) as Health).bus.latency.delivery;
      expect(all.count).toBeGreaterThan(1);
      // The count is of every delivery so far; a heartbeat may land between the two reads.
      expect(last.count).toBeGreaterThanOrEqual(all.count);
      // Over one message, the median is that message's latency.
      expect(last.p50).toBe(last.max);
      for (const bad of ['0', '-3', '1.5', 'many']) {
        const response = await fetch(`${node.url}/health?recent=${bad}`);
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ code: 'BAD_REQUEST' });
      }
      expect((await fetch(`${node.url}/health`)).status).toBe(200);
    });
  });
});
