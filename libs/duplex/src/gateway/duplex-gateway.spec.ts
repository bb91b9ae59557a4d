import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { callback, defineContract, EVENTS, operation, PROTOCOL_VERSION, type SessionFrame } from '@nest-duplex/protocol';
import { DuplexService } from '../contracts/duplex-service.decorator';
import type { DuplexOptions } from '../duplex-options';
import { DuplexModule } from '../duplex.module';
import { DuplexContext } from '../runtime/duplex-context';
import { DuplexMetrics } from '../metrics/duplex-metrics';
import { DuplexHealth } from '../runtime/duplex-health';

const whoContract = defineContract({
  name: 'who',
  operations: { whoAmI: operation.requestReply(z.tuple([]), z.string()) },
  callbacks: {},
});

@DuplexService(whoContract)
class Who {
  constructor(private readonly duplex: DuplexContext) {}
  whoAmI(): string {
    return this.duplex.session.id;
  }
}

const floodContract = defineContract({
  name: 'flood',
  operations: {
    /** ([sessionId, every][], count, size): callback i goes to each session whose `every` divides i. */
    flood: operation.requestReply(z.tuple([z.array(z.tuple([z.string(), z.number().int().min(1)])), z.number().int(), z.number().int()]), z.number()),
  },
  callbacks: { data: callback.oneWay(z.tuple([z.string()])) },
});

/** Sends sessions callbacks of `size` characters, about 100 KB to each between turns of the event loop. */
@DuplexService(floodContract)
class Flood {
  private readonly clients;
  constructor(duplex: DuplexContext) {
    this.clients = duplex.callbacks(floodContract);
  }
  async flood(targets: Array<[string, number]>, count: number, size: number): Promise<number> {
    const payload = 'x'.repeat(size);
    for (let i = 0; i < count; i++) {
      for (const [id, every] of targets) if (i % every === 0) await this.clients.session(id).data(payload);
      if (i % Math.ceil(100_000 / size) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return count;
  }
}

const GRACE_MS = 1_500;

/** A Nest app built with @nestjs/testing around DuplexModule with `options`, listening on a free port of loopback. */
async function listen(options: DuplexOptions, providers: Provider[]): Promise<{ app: INestApplication; url: string }> {
  const module = await Test.createTestingModule({ imports: [DuplexModule.forRoot(options)], providers }).compile();
  const app = module.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${app.getHttpServer().address().port}` };
}

/** The gateway in a Nest app built with @nestjs/testing, on the in-memory bus, spoken to with raw Socket.IO clients. */
describe('DuplexGateway', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ app, url } = await listen({ amqp: false, nodeId: 'gateway-spec', sessionGraceMs: GRACE_MS, secret: 'spec-secret', replayWindow: 1_000 }, [Who, Flood]));
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(() => app.close());

  const health = () => app.get(DuplexHealth).report();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const waitFor = async (done: () => boolean) => {
    for (let tries = 0; !done(); tries++) {
      if (tries > 500) throw new Error('timed out waiting');
      await sleep(10);
    }
  };

  /** A raw client and the first `session` frame it gets. */
  const connect = async (
    auth: Record<string, unknown> = {},
    extraHeaders?: Record<string, string>,
    onCallback?: (frame: { seq: number }) => void,
    /** Whether the client acks the session frame (keeps its token), as the SDK does. */
    keeps = true,
  ) => {
    const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders });
    sockets.push(socket);
    if (onCallback) socket.on(EVENTS.callback, onCallback);
    const frame = await new Promise<SessionFrame>((resolve, reject) => {
      socket.once(EVENTS.session, (frame: SessionFrame, kept?: () => void) => {
        if (keeps) kept?.();
        resolve(frame);
      });
      socket.once('connect_error', reject);
    });
    return { socket, frame };
  };
  /** Drops the transport (not a leave): the session waits for its client. */
  const drop = async (socket: Socket) => {
    socket.io.engine.close();
    await sleep(20);
  };

  it('opens a session with a session frame first: protocol, token, ids, nothing missed', async () => {
    const { frame } = await connect();
    expect(frame).toMatchObject({ protocol: PROTOCOL_VERSION, nodeId: 'gateway-spec', resumed: false, missed: 0 });
    expect(typeof frame.session).toBe('string');
    expect(typeof frame.sessionId).toBe('string');
  });

  it("answers a call through its ack, in the caller's session", async () => {
    const { socket, frame } = await connect();
    expect(await socket.emitWithAck(EVENTS.call, { service: 'who', op: 'whoAmI', args: [] })).toEqual({ ok: true, result: frame.sessionId });
  });

  it('answers what is not a call with BAD_REQUEST, through the ack or, without one, a protocol_error', async () => {
    const { socket } = await connect();
    expect(await socket.emitWithAck('shout', 1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await socket.emitWithAck(EVENTS.call, {}, {})).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: 'a call carries exactly one frame' } });
    const told = new Promise((resolve) => socket.once(EVENTS.protocolError, resolve));
    socket.emit(EVENTS.call, { service: 'who', op: 'whoAmI', args: [] });
    expect(await told).toMatchObject({ code: 'BAD_REQUEST', message: 'a call needs an acknowledgement callback' });
    // And the connection serves on.
    expect(await socket.emitWithAck(EVENTS.call, { service: 'who', op: 'whoAmI', args: [] })).toMatchObject({ ok: true });
  });

  it('refuses a handshake whose auth has the wrong shape, with the code in connect_error', async () => {
    await expect(connect({ lastSeq: -1 })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    await expect(connect({ token: 42 })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });

  it('refuses a browser of another origin at the transport', async () => {
    await expect(connect({}, { origin: 'http://evil.example' })).rejects.toThrow();
  });

  it('resumes the session its token names, and gives a new one for a token it did not sign', async () => {
    const first = await connect();
    first.socket.io.engine.close(); // the transport drops: the session waits out its grace period
    const again = await connect({ session: first.frame.session, lastSeq: 0 });
    expect(again.frame).toMatchObject({ sessionId: first.frame.sessionId, resumed: true });
    const forged = await connect({ session: `${first.frame.sessionId}.forged` });
    expect(forged.frame).toMatchObject({ resumed: false });
    expect(forged.frame.sessionId).not.toBe(first.frame.sessionId);
  });

  it('rotates the resume token: each connection gets a new one, and the one used stops working once the new one is kept', async () => {
    const first = await connect();
    await drop(first.socket);
    const second = await connect({ session: first.frame.session });
    expect(second.frame).toMatchObject({ sessionId: first.frame.sessionId, resumed: true });
    expect(second.frame.session).not.toBe(first.frame.session);
    await sleep(20); // the ack reaches the node
    await drop(second.socket);
    const replayedOld = await connect({ session: first.frame.session });
    expect(replayedOld.frame).toMatchObject({ resumed: false });
    expect(replayedOld.frame.sessionId).not.toBe(first.frame.sessionId);
    // The session was not disturbed: its latest token still resumes it.
    const third = await connect({ session: second.frame.session });
    expect(third.frame).toMatchObject({ sessionId: first.frame.sessionId, resumed: true });
  });

  it('keeps the token before working while the client has not acked the new one, so a lost session frame loses nothing', async () => {
    const first = await connect();
    await drop(first.socket);
    const unkept = await connect({ session: first.frame.session }, undefined, undefined, false);
    await drop(unkept.socket);
    const again = await connect({ session: first.frame.session });
    expect(again.frame).toMatchObject({ sessionId: first.frame.sessionId, resumed: true });
  });

  it('closes a connection whose session another connection resumed, telling its client it was displaced', async () => {
    const owner = await connect();
    const closing = new Promise((resolve) => owner.socket.once(EVENTS.closing, resolve));
    const disconnected = new Promise((resolve) => owner.socket.once('disconnect', resolve));
    const taker = await connect({ session: owner.frame.session });
    expect(taker.frame).toMatchObject({ sessionId: owner.frame.sessionId, resumed: true });
    expect(await closing).toEqual({ reason: 'displaced', message: 'another connection resumed this session' });
    expect(await disconnected).toBe('io server disconnect');
    expect(await taker.socket.emitWithAck(EVENTS.call, { service: 'who', op: 'whoAmI', args: [] })).toEqual({ ok: true, result: owner.frame.sessionId });
  });

  it('ends a session at once when its client leaves, and keeps one whose transport dropped for the grace period', async () => {
    await sleep(GRACE_MS * 2); // the earlier tests' sessions are gone
    const before = health().sessions;
    const leaving = await connect();
    const dropping = await connect();
    expect(health().sessions).toBe(before + 2);
    leaving.socket.disconnect();
    dropping.socket.io.engine.close();
    await sleep(50);
    expect(health()).toMatchObject({ sessions: before + 1, connections: before });
    await sleep(GRACE_MS * 2);
    expect(health().sessions).toBe(before);
  });

  it('cuts a client that stops reading once its backlog passes the bound; resumed, it gets its replay and a missed count for the rest', async () => {
    const COUNT = 4_000;
    let seen = 0;
    const stalled = await connect({}, undefined, (frame) => void (seen = Math.max(seen, frame.seq)));
    const healthy: number[] = [];
    const reader = await connect({}, undefined, (frame) => void healthy.push(frame.seq));
    // Stop reading: the kernel's buffers fill, then the node's.
    const tcp = (stalled.socket.io.engine.transport as unknown as { ws: { _socket: import('node:net').Socket } }).ws._socket;
    tcp.pause();
    const flooder = await connect();
    // 32 MB for the stalled client, well past what the kernel's buffers hold; a lighter stream for the other.
    const targets = [
      [stalled.frame.sessionId, 1],
      [reader.frame.sessionId, 10],
    ];
    expect(await flooder.socket.emitWithAck(EVENTS.call, { service: 'flood', op: 'flood', args: [targets, COUNT, 8_000] })).toEqual({ ok: true, result: COUNT });
    const metrics = await app.get(DuplexMetrics).text();
    expect(metrics).toMatch(/duplex_connections_closed_total\{cause="slow-consumer",node="gateway-spec"\} 1/);
    // The client that reads was served throughout: everything, in order, on one connection.
    await waitFor(() => healthy.length === COUNT / 10);
    expect(healthy).toEqual(Array.from({ length: COUNT / 10 }, (_, i) => i + 1));
    expect(reader.socket.connected).toBe(true);
    // Reading again, the stalled client gets what was in flight, then the close.
    const closed = new Promise((resolve) => stalled.socket.once('disconnect', resolve));
    tcp.resume();
    expect(await closed).toBe('transport close');
    const replayed: number[] = [];
    const resumed = await connect({ session: stalled.frame.session, lastSeq: seen }, undefined, (frame) => void replayed.push(frame.seq));
    expect(resumed.frame).toMatchObject({ sessionId: stalled.frame.sessionId, resumed: true });
    await waitFor(() => replayed.at(-1) === COUNT);
    // Every callback is accounted for: seen before the cut, counted as missed, or replayed, in order.
    expect(seen + resumed.frame.missed + replayed.length).toBe(COUNT);
    expect(replayed).toEqual(Array.from({ length: replayed.length }, (_, i) => COUNT - replayed.length + 1 + i));
  }, 60_000);
});

/** The limits a node holds every client to, each refused over the wire with its documented code. */
describe('DuplexGateway limits', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ app, url } = await listen(
      {
        amqp: false,
        nodeId: 'limits-spec',
        authenticate: (token) => token ?? null, // the token names the user; none: anonymous
        maxSessionsPerUser: 2,
        maxSessionsPerAddress: 3,
        trustProxyHops: 1,
        callsPerSecond: 1,
        callBurst: 3,
        maxHandshakeBytes: 1_024,
      },
      [Who],
    ));
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50)); // their sessions end
  });
  afterAll(() => app.close());

  /** A client whose proxy says it is `from`; resolves with its socket once the session frame is in. */
  const connect = async (auth: Record<string, unknown>, from: string) => {
    const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { 'x-forwarded-for': from } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once(EVENTS.session, () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };

  it('refuses a handshake whose auth is over maxHandshakeBytes with BAD_REQUEST', async () => {
    await expect(connect({ token: 'x'.repeat(2_000) }, '198.51.100.1')).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', message: expect.stringMatching(/^handshake auth is \d+ bytes; the limit is 1024$/) },
    });
  });

  it("refuses a user's session past maxSessionsPerUser with RESOURCE_EXHAUSTED, and allows it again once one ends", async () => {
    const first = await connect({ token: 'ann' }, '198.51.100.2');
    await connect({ token: 'ann' }, '198.51.100.3');
    await expect(connect({ token: 'ann' }, '198.51.100.4')).rejects.toMatchObject({
      data: { code: 'RESOURCE_EXHAUSTED', message: 'this user has 2 sessions; the limit is 2' },
    });
    await connect({ token: 'bob' }, '198.51.100.4');
    first.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await connect({ token: 'ann' }, '198.51.100.5');
  });

  it('refuses a session past maxSessionsPerAddress with RESOURCE_EXHAUSTED, counting the address the trusted proxy forwarded', async () => {
    for (let i = 0; i < 3; i++) await connect({}, `6.6.6.6, 203.0.113.9`);
    await expect(connect({}, '1.2.3.4, 203.0.113.9')).rejects.toMatchObject({ data: { code: 'RESOURCE_EXHAUSTED' } });
    // The same peer (127.0.0.1), another forwarded address: not the same client.
    await connect({}, '203.0.113.10');
  });

  it("refuses a session's calls past its rate with RESOURCE_EXHAUSTED, and the connection serves on", async () => {
    const socket = await connect({}, '198.51.100.20');
    const call = () => socket.emitWithAck(EVENTS.call, { service: 'who', op: 'whoAmI', args: [] }) as Promise<{ ok: boolean; error?: { code: string } }>;
    const acks = await Promise.all(Array.from({ length: 5 }, call));
    expect(acks.map((a) => (a.ok ? 'ok' : a.error!.code))).toEqual(['ok', 'ok', 'ok', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a token back
    expect(await call()).toMatchObject({ ok: true });
  });
});
