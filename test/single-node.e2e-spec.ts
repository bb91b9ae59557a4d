import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { beerInventoryContract } from '../apps/demo/src/beer-inventory/beer-inventory.contract';
import { echoContract } from '../apps/demo/src/echo/echo.contract';
import { seatBookingContract } from '../apps/demo/src/seat-booking/seat-booking.contract';
import { statusContract } from '../apps/demo/src/status/status.contract';
import { DuplexError } from '@nest-duplex/client';
import { Clients, eventually, settle } from './support/clients';
import { NodeProcess, startNode } from './support/node-process';

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

    it('answers an unknown event with BAD_REQUEST, and a call without an ack with protocol_error', async () => {
      const errors: unknown[] = [];
      const client = await clients.connect(node.url, { onError: (e) => void errors.push(e) });
      const ack = await client.socket.timeout(5_000).emitWithAck('hello', { x: 1 });
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      client.socket.emit('call', { service: 'status', op: 'dataUpdated', args: [] });
      await eventually(() => errors.length === 1, 'protocol_error');
      expect(errors[0]).toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('drops only the connection that sends a frame over the transport limit', async () => {
      const flooder = await clients.connect(node.url);
      const good = (await clients.connect(node.url)).service(echoContract);
      const gone = new Promise((r) => flooder.socket.on('disconnect', r));
      flooder.socket.emit('call', { service: 'status', op: 'dataUpdated', args: ['x'.repeat(2_000_000)] }, () => undefined);
      await gone;
      await expect(good.wait(0, 'fine')).resolves.toBe('fine');
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
        expect(session).toMatchObject({ protocol: 2, sessionId: first.sessionId, resumed: true, missed: 0 });
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

      // Bus figures are read once per scrape, never carried over to the next one.
      const published = sample(text, /^duplex_bus_published_messages\{/)!;
      await status.dataUpdated();
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
