import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { io } from 'socket.io-client';
import { DuplexClientProxy, DuplexEmitter, DuplexEmitterModule } from '@nest-duplex/server/emitter';
import { echoContract } from '../../apps/demo/src/echo/echo.contract';
import { seatBookingContract } from '../../apps/demo/src/seat-booking/seat-booking.contract';
import { Clients, eventually, sessionFrame, settle } from '../support/clients';
import { removeTopology, startClusterNode, suitePrefix } from '../support/cluster';
import type { NodeProcess } from '../support/node-process';

/**
 * A worker: this test's own process, a Nest application context with the
 * emitter and no HTTP or Socket.IO server, raising callbacks on clients of
 * two real node processes.
 */
describe('callbacks from a process that is not a node (DuplexEmitter)', () => {
  const prefix = suitePrefix('emitter');
  const clients = new Clients();
  let nodes: NodeProcess[] = [];
  let worker: INestApplicationContext;
  let emitter: DuplexEmitter;

  const signIn = async (node: NodeProcess, name: string) =>
    ((await (await fetch(`${node.url}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })).json()) as { token: string }).token;
  const clusterNodes = async (node: NodeProcess) => ((await (await fetch(`${node.url}/health`)).json()) as { nodes: string[] }).nodes;

  /** A client whose echo callbacks are recorded; it answers `answer` with `<name>: <question>`. */
  async function guest(node: NodeProcess, name: string, options: { silent?: boolean } = {}) {
    const told: string[] = [];
    const client = await clients.connect(node.url, { token: await signIn(node, name) });
    client.service(echoContract, { answer: async (q) => (options.silent ? new Promise<string>(() => undefined) : `${name}: ${q}`), told: (t) => void told.push(t) });
    return { client, told, sessionId: client.sessionId! };
  }

  beforeAll(async () => {
    nodes = await Promise.all([1, 2].map((i) => startClusterNode(i, { prefix })));
    for (const node of nodes) await eventually(async () => (await clusterNodes(node)).length === 2, `${node.nodeId} to see the cluster`, 10_000);
    @Module({ imports: [DuplexEmitterModule.forRoot({ amqp: { url: process.env.AMQP_URL, prefix }, callbackTimeoutMs: 1_000 })] })
    class WorkerModule {}
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn'] });
    emitter = worker.get(DuplexEmitter);
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await worker?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await removeTopology(prefix);
  });

  it('reaches one session on another node, confirmed; a session that exists nowhere is UNAVAILABLE', async () => {
    const bob = await guest(nodes[1], 'bob');
    await expect(emitter.callbacks(echoContract).session(bob.sessionId).told('from the worker')).resolves.toBeUndefined();
    await eventually(() => bob.told.length === 1, 'bob to hear the worker');
    expect(bob.told).toEqual(['from the worker']);
    await expect(emitter.callbacks(echoContract).session('no-such-session').told('lost?')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it("follows one session as it moves between nodes: every callback once, in the emitter's order, nothing missed", async () => {
    // A raw client, so the test decides when the transport drops and where it resumes.
    const token = await signIn(nodes[0], 'ivy');
    const heard: number[] = [];
    let lastSeq = 0;
    const open = async (node: NodeProcess, auth: Record<string, unknown>) => {
      const socket = io(node.url, { transports: ['websocket'], reconnection: false, auth });
      socket.on('callback', (frame: { seq: number; method: string; args: [string] }) => {
        if (frame.seq <= lastSeq) return; // a replay of what was heard
        lastSeq = frame.seq;
        heard.push(Number(frame.args[0]));
      });
      return { socket, frame: await sessionFrame(socket) };
    };
    let { socket, frame } = await open(nodes[0], { token });
    const sessionId = frame.sessionId;
    const frames = [frame];
    const ivy = emitter.callbacks(echoContract).session(sessionId);
    let next = 1;
    const burst = () => Promise.all(Array.from({ length: 20 }, () => ivy.told(String(next++))));
    try {
      await burst();
      // Bursts keep coming while the client drops its transport and resumes on the other node, then back.
      for (const node of [nodes[1], nodes[0]]) {
        const sending = burst();
        socket.io.engine.close();
        ({ socket, frame } = await open(node, { token, session: frame.session, lastSeq }));
        frames.push(frame);
        await sending;
        await burst();
      }
      const sent = next - 1;
      await eventually(() => heard.length >= sent, `ivy to hear all ${sent}`);
      await settle();
      expect(heard).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
      expect(frames.map((f) => [f.sessionId, f.resumed, f.missed])).toEqual([
        [sessionId, false, 0],
        [sessionId, true, 0],
        [sessionId, true, 0],
      ]);
    } finally {
      socket.close();
    }
  });

  it('learns that a session it called back has ended: its next callbacks are UNAVAILABLE', async () => {
    const jo = await guest(nodes[1], 'jo');
    const callbacks = emitter.callbacks(echoContract).session(jo.sessionId);
    await callbacks.told('hello');
    await eventually(() => jo.told.length === 1, 'jo to hear the worker');
    jo.client.close(); // on purpose: the session ends at once
    // One already on its way when the session ended is dropped there, and the emitter told.
    await eventually(async () => (await callbacks.told('still there?').then(() => 'ok', (e: { code?: string }) => e.code)) === 'UNAVAILABLE', 'a callback to the ended session to be UNAVAILABLE');
    await expect(callbacks.told('really?')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('reaches every session of a user, on both nodes, each once and in order', async () => {
    const ada = [await guest(nodes[0], 'ada'), await guest(nodes[1], 'ada')];
    const bob = await guest(nodes[0], 'bob');
    for (let n = 1; n <= 10; n++) await emitter.callbacks(echoContract).user('ada').told(`ada ${n}`);
    const expected = Array.from({ length: 10 }, (_, n) => `ada ${n + 1}`);
    await eventually(() => ada.every((a) => a.told.length >= 10), 'both of ada\'s sessions to hear 10');
    await settle();
    expect(ada.map((a) => a.told)).toEqual([expected, expected]);
    expect(bob.told).toEqual([]);
  });

  it('reaches every subscriber of a topic on every node', async () => {
    const watchers = [await guest(nodes[0], 'cat'), await guest(nodes[1], 'dan')];
    for (const w of watchers) await w.client.service(seatBookingContract).getSeatMap('worker-show');
    const outsider = await guest(nodes[1], 'eve');
    await emitter.callbacks(echoContract).topic('show.worker-show').told('doors open');
    await eventually(() => watchers.every((w) => w.told.length === 1), 'both watchers to hear the topic');
    await settle();
    expect(watchers.map((w) => w.told)).toEqual([['doors open'], ['doors open']]);
    expect(outsider.told).toEqual([]);
  });

  it('asks a client on another node a request-reply callback and gets its answer, or TIMEOUT', async () => {
    const fay = await guest(nodes[1], 'fay');
    await expect(emitter.callbacks(echoContract).session(fay.sessionId).answer('ready?')).resolves.toBe('fay: ready?');
    const mute = await guest(nodes[0], 'gus', { silent: true });
    await expect(emitter.callbacks(echoContract).session(mute.sessionId).answer('there?')).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(emitter.callbacks(echoContract).session('no-such-session').answer('anyone?')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('is a Nest ClientProxy: emit completes on the confirm, send yields the answer, and a bad pattern is BAD_REQUEST', async () => {
    const proxy = worker.get(DuplexClientProxy);
    const hal = await guest(nodes[0], 'hal');
    await lastValueFrom(proxy.emit({ service: 'echo', method: 'told', session: hal.sessionId }, ['raw']), { defaultValue: undefined });
    await eventually(() => hal.told.length === 1, 'hal to hear the raw emit');
    await expect(lastValueFrom(proxy.send({ service: 'echo', method: 'answer', session: hal.sessionId }, ['raw?']))).resolves.toBe('hal: raw?');
    await expect(lastValueFrom(proxy.send({ service: 'echo', method: 'answer', user: 'hal' }, ['all?']))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(lastValueFrom(proxy.emit({ service: 'echo', method: 'told', topic: '~user:hal' }, ['x']))).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(lastValueFrom(proxy.emit({ service: 'echo', method: 'told', session: 'a', topic: 'b' }, ['x']))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('is not a node: the cluster still counts two', async () => {
    await settle(1_000); // several heartbeats
    for (const node of nodes) expect((await clusterNodes(node)).sort()).toEqual(nodes.map((n) => n.nodeId).sort());
  });
});
