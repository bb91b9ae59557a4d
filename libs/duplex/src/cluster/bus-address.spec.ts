import { describe, expect, it } from '@jest/globals';
import { BROADCAST, nodeAddress, parseRoutingKey, routingKey, topicAddress } from './bus-address';

describe('routing keys', () => {
  it.each([topicAddress('show.42'), nodeAddress('node-1'), BROADCAST])(
    'round-trips %j',
    (address) => expect(parseRoutingKey(routingKey(address))).toEqual(address),
  );

  it.each(['', 'topic.', 'nope.x', 'topic', '.x', 'session.a-b-c'])('rejects %j', (key) => {
    expect(parseRoutingKey(key)).toBeNull();
  });
});
