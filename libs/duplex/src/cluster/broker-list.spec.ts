import { describe, expect, it } from '@jest/globals';
import { BrokerList, brokerName } from './broker-list';

const URLS = ['amqp://a:1', 'amqp://b:2', 'amqp://c:3'];

describe('BrokerList', () => {
  it('spreads nodes over the brokers by their id', () => {
    const starts = new Set(Array.from({ length: 30 }, (_, i) => new BrokerList(URLS, `node-${i}`).current));
    expect(starts).toEqual(new Set(URLS));
  });

  it('tries every broker once before it calls a round failed, and starts a new round after a connection', () => {
    const brokers = new BrokerList(URLS, 'n');
    const first = brokers.current;
    expect([brokers.advance(), brokers.advance()]).toEqual([false, false]);
    expect(new Set([first, brokers.current]).size).toBe(2);
    expect(brokers.advance()).toBe(true);
    expect(brokers.current).toBe(first);
    brokers.advance();
    brokers.connected();
    expect([brokers.advance(), brokers.advance(), brokers.advance()]).toEqual([false, false, true]);
  });

  it('names a broker by host and port only', () => {
    expect(brokerName('amqp://guest:secret@10.0.0.1:5673/vhost')).toBe('10.0.0.1:5673');
    expect(brokerName('amqps://h')).toBe('h:5671');
  });
});
