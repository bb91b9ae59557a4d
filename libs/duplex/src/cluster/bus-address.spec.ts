import { describe, expect, it } from '@jest/globals';
import { BROADCAST, nodeAddress, parseRoutingKey, routingKey, sessionAddress, topicAddress } from './bus-address';

describe('routing keys', () => {
  it.each([topicAddress('show.42'), sessionAddress('a-b-c'), nodeAddress('node-1'), BROADCAST])(
    'round-trips %j',
    (address) => expect(parseRoutingKey(routingKey(address))).toEqual(address),
  );

  it.each(['', 'topic.', 'nope.x', 'topic', '.x'])('rejects %j', (key) => {
    expect(parseRoutingKey(key)).toBeNull();
  });
});
