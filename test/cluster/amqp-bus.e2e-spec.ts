import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { AmqpBus } from '@nest-duplex/server/internal';
import { nodeAddress, topicAddress } from '@nest-duplex/server/internal';
import type { BusMessage } from '@nest-duplex/server/internal';
import { eventually, settle } from '../support/clients';
import { removeTopology, suitePrefix } from '../support/cluster';

const callback = (n: number): BusMessage => ({ type: 'callback', service: 's', method: 'm', args: [n] });

/** The AMQP bus on its own, several instances in one process, on the real broker. */
describe('AmqpBus', () => {
  const prefix = suitePrefix('bus');
  const buses: AmqpBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(() => removeTopology(prefix));

  const start = async (nodeId: string, jobs?: (m: BusMessage) => Promise<void>) => {
    const received: Array<{ message: BusMessage; key: string }> = [];
    const bus = new AmqpBus({ urls: [process.env.AMQP_URL!], nodeId: `${prefix}-${nodeId}`, prefix });
    if (jobs) bus.consumeJobs('test', jobs);
    await bus.start((message, address) => received.push({ message, key: address.kind === 'topic' ? address.topic : address.kind }));
    buses.push(bus);
    return { bus, received };
  };

  it('delivers a topic only to the nodes bound to it, in publish order', async () => {
    const a = await start('a');
    const b = await start('b');
    const c = await start('c');
    await a.bus.bind(topicAddress('news'));
    await b.bus.bind(topicAddress('news'));
    for (let n = 1; n <= 20; n++) await c.bus.publish(topicAddress('news'), callback(n));
    const news = (r: typeof a.received) => r.filter((x) => x.key === 'news').map((x) => (x.message as { args: number[] }).args[0]);
    await eventually(() => news(a.received).length === 20 && news(b.received).length === 20, 'both subscribers');
    expect(news(a.received)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(news(c.received)).toEqual([]);
    expect(c.bus.stats().delivered['topic.news']).toBeUndefined();

    await b.bus.unbind(topicAddress('news'));
    await c.bus.publish(topicAddress('news'), callback(21));
    await eventually(() => news(a.received).length === 21, 'the remaining subscriber');
    await settle(200);
    expect(news(b.received)).toHaveLength(20);
  });

  it('stamps every message with its own send time, so each delivery latency is its own hop', async () => {
    const a = await start('a');
    const b = await start('b');
    await b.bus.bind(topicAddress('clock'));
    await a.bus.publish(topicAddress('clock'), callback(1));
    // A stamp carried over from the first publish would make the second one's hop last this long.
    await settle(300);
    await a.bus.publish(topicAddress('clock'), callback(2));
    await eventually(() => b.received.filter((x) => x.key === 'clock').length === 2, 'both messages');
    const latency = b.bus.stats(2).latency.delivery;
    expect(latency.count).toBe(2);
    expect(latency.max).toBeLessThan(250);
  });

  it('rejects a mandatory message nobody is bound to with UNAVAILABLE, and delivers one that is', async () => {
    const a = await start('a');
    const b = await start('b');
    await expect(a.bus.publish(nodeAddress('nobody'), callback(1), { mandatory: true })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await b.bus.bind(topicAddress('somewhere'));
    await a.bus.publish(topicAddress('somewhere'), callback(2), { mandatory: true });
    await a.bus.publish(nodeAddress(b.bus.nodeId), callback(3), { mandatory: true });
    await eventually(() => b.received.filter((x) => x.key !== 'broadcast').length === 2, 'topic and node messages');
  });

  it('fails fast with UNAVAILABLE once closed', async () => {
    const a = await start('a');
    await a.bus.close();
    expect(a.bus.connected).toBe(false);
    await expect(a.bus.publish(topicAddress('x'), callback(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('hands every job to a single active consumer', async () => {
    const handledBy: string[] = [];
    await start('one', async () => void handledBy.push('one'));
    await start('two', async () => void handledBy.push('two'));
    for (let n = 0; n < 10; n++) await buses[1].enqueueJob('test', callback(n));
    await eventually(() => handledBy.length === 10, 'ten jobs');
    expect(new Set(handledBy).size).toBe(1);
  });
});
