import { describe, expect, it } from '@jest/globals';
import { topicAddress, type BusAddress } from '../cluster/bus-address';
import type { BusMessage } from '../cluster/bus-message';
import { BusUnavailableError } from '../cluster/bus-unavailable.error';
import { MemoryBroker, MemoryBus } from '../cluster/memory-bus';
import type { PublishOptions } from '../cluster/bus';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { idempotencyScope } from '../state/idempotency-scope';
import { CallbackRouter } from './callback-router';
import { NodeEvents } from './node-events';

/** A memory bus whose transport is down for its first `outage` publishes, as across a broker restart. */
class FlakyBus extends MemoryBus {
  attempts = 0;
  constructor(
    private outage: number,
    broker: MemoryBroker,
  ) {
    super('flaky', broker);
  }
  override async publish(address: BusAddress, message: BusMessage, options?: PublishOptions): Promise<void> {
    if (++this.attempts <= this.outage) throw new BusUnavailableError();
    return super.publish(address, message, options);
  }
}

const frame = { service: 'party', method: 'changed', args: [1] };
const noSessions = { get: () => undefined, movedAway: () => false };
const inCall = <T>(run: () => Promise<T>) => idempotencyScope.run({ key: 'session:call-1', occurrences: new Map() }, run);

async function setUp(outage: number, waitMs = 1_000) {
  const broker = new MemoryBroker();
  const bus = new FlakyBus(outage, broker);
  const router = new CallbackRouter(bus, new TopicSubscriptions(bus), noSessions, new NodeEvents(), { waitMs, retryDelayMs: 5 });
  const received: BusMessage[] = [];
  const listener = new MemoryBus('listener', broker);
  await listener.start((message) => void received.push(message));
  await listener.bind(topicAddress('party'));
  await bus.start(() => undefined);
  return { bus, router, received };
}

describe('CallbackRouter during a bus outage', () => {
  it('holds a callback raised by a call until the bus takes it, so the call that changed state also announces it', async () => {
    const { bus, router, received } = await setUp(3);
    await inCall(() => router.publish('party', frame));
    await new Promise((r) => setImmediate(r));
    expect(bus.attempts).toBe(4);
    expect(received).toHaveLength(1);
  });

  it('ends the wait with TIMEOUT (it may still be delivered) once the outage outlasts it', async () => {
    const { router, received } = await setUp(Number.POSITIVE_INFINITY, 50);
    await expect(inCall(() => router.publish('party', frame))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(received).toHaveLength(0);
  });

  it('fails fast with UNAVAILABLE outside a call, where a second copy could not be told from the first', async () => {
    const { bus, router } = await setUp(1);
    await expect(router.publish('party', frame)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(bus.attempts).toBe(1);
  });

  it('does not wait on an answer about the target: a session no node holds is UNAVAILABLE at once', async () => {
    const { bus, router } = await setUp(0);
    await expect(inCall(() => router.send('nobody', frame))).rejects.toMatchObject({ code: 'UNAVAILABLE', name: 'NoRouteError' });
    expect(bus.attempts).toBe(1);
  });
});
