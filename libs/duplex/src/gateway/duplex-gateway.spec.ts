import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { defineContract, EVENTS, operation, PROTOCOL_VERSION, type SessionFrame } from '@nest-duplex/protocol';
import { DuplexService } from '../contracts/duplex-service.decorator';
import { DuplexModule } from '../duplex.module';
import { DuplexContext } from '../runtime/duplex-context';
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

const GRACE_MS = 300;

/** The gateway in a Nest app built with @nestjs/testing, on the in-memory bus, spoken to with raw Socket.IO clients. */
describe('DuplexGateway', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const module = await Test.createTestingModule({
      imports: [DuplexModule.forRoot({ amqp: false, nodeId: 'gateway-spec', sessionGraceMs: GRACE_MS, secret: 'spec-secret' })],
      providers: [Who],
    }).compile();
    app = module.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(() => app.close());

  const health = () => app.get(DuplexHealth).report();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A raw client and the first `session` frame it gets. */
  const connect = async (auth: Record<string, unknown> = {}, extraHeaders?: Record<string, string>) => {
    const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders });
    sockets.push(socket);
    const frame = await new Promise<SessionFrame>((resolve, reject) => {
      socket.once(EVENTS.session, resolve);
      socket.once('connect_error', reject);
    });
    return { socket, frame };
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
});
