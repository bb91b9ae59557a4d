import { describe, expect, it } from '@jest/globals';
import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { callbackPacket } from './callback-packet';

function decode(encoded: string): unknown {
  const decoder = new Decoder();
  let packet: unknown;
  decoder.on('decoded', (p: unknown) => (packet = p));
  decoder.add(encoded);
  return packet;
}

describe('callbackPacket', () => {
  const frame = { service: 'relay', method: 'message', args: ['a "quoted" \u2028 text', { n: 1, nested: [null, true] }] };

  it('decodes to exactly what socket.io-parser encodes for the same emit', () => {
    const [reference] = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['callback', { ...frame, seq: 7 }] }) as string[];
    expect(decode(callbackPacket(frame, 7))).toEqual(decode(reference));
  });

  it('shares one serialization across sessions and changes only the seq', () => {
    const first = callbackPacket(frame, 1);
    const second = callbackPacket(frame, 2);
    expect(second).toBe(first.replace('"seq":1,', '"seq":2,'));
  });

  it('does not reuse a body for a different callback with the same args array', () => {
    const args = ['x'];
    callbackPacket({ service: 's', method: 'a', args }, 1);
    expect(decode(callbackPacket({ service: 's', method: 'b', args }, 1))).toMatchObject({ data: ['callback', { method: 'b', seq: 1 }] });
  });
});
