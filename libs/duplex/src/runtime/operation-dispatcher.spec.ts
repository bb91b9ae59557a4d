import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type CanActivate, Injectable, UseGuards } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { z } from 'zod';
import { defineContract, operation } from '@nest-duplex/protocol';
import { DuplexService } from '../contracts/duplex-service.decorator';
import { DUPLEX_OPTIONS } from '../duplex-options';
import { DuplexHealth } from './duplex-health';
import { NodeEvents } from './node-events';
import { OperationDispatcher } from './operation-dispatcher';
import { OperationPipeline } from './operation-pipeline';
import { ServiceRegistry } from './service-registry';
import { Session } from './session';

const counterContract = defineContract({
  name: 'counter',
  operations: {
    add: operation.requestReply(z.tuple([z.number().int()]), z.number()),
    slowAdd: operation.requestReply(z.tuple([z.number().int(), z.number().int().min(0)]), z.number()),
    peekBeside: operation.requestReply(z.tuple([]), z.number(), { concurrent: true }),
    note: operation.oneWay(z.tuple([z.string()])),
    fail: operation.oneWay(z.tuple([])),
    lie: operation.requestReply(z.tuple([]), z.number()),
    guarded: operation.requestReply(z.tuple([]), z.string()),
  },
  callbacks: {},
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class Closed implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@DuplexService(counterContract)
class Counter {
  total = 0;
  runs = 0;
  notes: string[] = [];

  add(n: number): number {
    this.runs++;
    return (this.total += n);
  }

  async slowAdd(n: number, ms: number): Promise<number> {
    await sleep(ms);
    return this.add(n);
  }

  peekBeside(): number {
    return this.total;
  }

  async note(text: string): Promise<void> {
    await sleep(20);
    this.notes.push(text);
  }

  fail(): void {
    throw new Error('boom');
  }

  lie(): number {
    return 'not a number' as unknown as number;
  }

  @UseGuards(Closed)
  guarded(): string {
    return 'through';
  }
}

describe('OperationDispatcher', () => {
  let module: TestingModule;
  let dispatcher: OperationDispatcher;
  let counter: Counter;
  const node = { serving: true };
  const options = { maxCallBytes: 200 };
  const reported: string[] = [];
  const session = () => new Session('s1', null, 100, 10);

  beforeEach(async () => {
    node.serving = true;
    reported.length = 0;
    module = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [
        Counter,
        Closed,
        OperationPipeline,
        ServiceRegistry,
        NodeEvents,
        OperationDispatcher,
        { provide: DUPLEX_OPTIONS, useValue: options },
        { provide: DuplexHealth, useValue: node },
      ],
    })
      .setLogger({ log() {}, error() {}, warn() {}, debug() {}, verbose() {} })
      .compile();
    module.get(ServiceRegistry).discover();
    module.get(NodeEvents).add({ call: (service, op, outcome) => void reported.push(`${service}.${op}:${outcome}`), callback() {}, closed() {} });
    dispatcher = module.get(OperationDispatcher);
    counter = module.get(Counter);
  });
  afterEach(() => module.close());

  it('runs a call and answers its result', async () => {
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'add', args: [2] })).toEqual({ ok: true, result: 2 });
    expect(reported).toEqual(['counter.add:ok']);
  });

  it.each([
    { what: 'not an object', frame: 'hello', code: 'BAD_REQUEST' },
    { what: 'args that are not an array', frame: { service: 'counter', op: 'add', args: 2 }, code: 'BAD_REQUEST' },
    { what: 'an unknown service', frame: { service: 'nope', op: 'add', args: [1] }, code: 'UNKNOWN_SERVICE' },
    { what: 'an unknown operation', frame: { service: 'counter', op: 'toString', args: [] }, code: 'UNKNOWN_OPERATION' },
    { what: 'arguments the contract refuses', frame: { service: 'counter', op: 'add', args: ['two'] }, code: 'INVALID_ARGUMENTS' },
    { what: 'arguments over maxCallBytes', frame: { service: 'counter', op: 'note', args: ['x'.repeat(300)] }, code: 'BAD_REQUEST' },
    { what: 'arguments nested too deep', frame: { service: 'counter', op: 'add', args: [JSON.parse('['.repeat(100) + ']'.repeat(100))] }, code: 'BAD_REQUEST' },
  ])('answers $what with $code and runs nothing', async ({ frame, code }) => {
    const ack = await dispatcher.dispatch(session(), frame);
    expect(ack).toMatchObject({ ok: false, error: { code } });
    expect(counter.runs).toBe(0);
  });

  it('names only operations that exist in what it reports, so clients cannot invent label values', async () => {
    await dispatcher.dispatch(session(), { service: 'invented', op: 'label', args: [] });
    expect(reported).toEqual(['(unknown).(unknown):UNKNOWN_SERVICE']);
  });

  it('acks a one-way call once its handler has finished, and with its error when it throws', async () => {
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'note', args: ['hi'] })).toEqual({ ok: true });
    expect(counter.notes).toEqual(['hi']);
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'fail', args: [] })).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'internal error' },
    });
  });

  it('refuses a result its contract does not allow, as INTERNAL', async () => {
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'lie', args: [] })).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it("runs the handler through the app's guards", async () => {
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'guarded', args: [] })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it('answers a resent call from its record, never running it twice', async () => {
    const s = session();
    const first = dispatcher.dispatch(s, { service: 'counter', op: 'add', args: [5], id: 'c1' });
    const again = dispatcher.dispatch(s, { service: 'counter', op: 'add', args: [5], id: 'c1' });
    expect(await first).toEqual({ ok: true, result: 5 });
    expect(await again).toEqual({ ok: true, result: 5 });
    expect(await dispatcher.dispatch(s, { service: 'counter', op: 'add', args: [5], id: 'c1' })).toEqual({ ok: true, result: 5 });
    expect(counter.runs).toBe(1);
  });

  it("runs a session's calls in order, and concurrent operations beside them", async () => {
    const s = session();
    const slow = dispatcher.dispatch(s, { service: 'counter', op: 'slowAdd', args: [1, 50] });
    const next = dispatcher.dispatch(s, { service: 'counter', op: 'add', args: [10] });
    const beside = await dispatcher.dispatch(s, { service: 'counter', op: 'peekBeside', args: [] });
    expect(beside).toEqual({ ok: true, result: 0 }); // answered while the slow call still holds the queue
    expect(await slow).toEqual({ ok: true, result: 1 });
    expect(await next).toEqual({ ok: true, result: 11 });
  });

  it('refuses calls with UNAVAILABLE while the node is not ready, before any handler runs', async () => {
    node.serving = false;
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'add', args: [1] })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(counter.runs).toBe(0);
  });

  it('drains: running calls answer, new ones are UNAVAILABLE', async () => {
    const s = session();
    const running = dispatcher.dispatch(s, { service: 'counter', op: 'slowAdd', args: [1, 30] });
    const drained = dispatcher.drain(5_000);
    expect(await dispatcher.dispatch(session(), { service: 'counter', op: 'add', args: [1] })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    await drained;
    expect(counter.total).toBe(1); // the running call finished before the drain resolved
    expect(await running).toEqual({ ok: true, result: 1 });
  });
});
