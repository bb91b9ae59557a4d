import { describe, expect, it } from '@jest/globals';
import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { callbackPacket, callbackWebSocketFrame, textFrameHeader } from './callback-packet';

// ws exports its Sender (the reference framing used below), but @types/ws does not declare it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Sender } = require('ws') as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

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

describe('callbackWebSocketFrame', () => {
  const frame = { service: 'relay', method: 'message', args: ['ünïcödé payload', 42] };

  it('is a text frame header and the Engine.IO message of exactly the packet, for seqs of any length', () => {
    for (const seq of [1, 9, 10, 12_345, 9_007_199_254_740_991]) {
      const payload = Buffer.from(`4${callbackPacket(frame, seq)}`);
      expect(callbackWebSocketFrame(frame, seq)).toEqual(Buffer.concat([textFrameHeader(payload.length), payload]));
    }
  });

  it('gives each session a frame of its own: writing one never changes another', () => {
    const first = callbackWebSocketFrame(frame, 11);
    const second = callbackWebSocketFrame(frame, 12);
    expect(first.toString()).toContain('"seq":11,');
    expect(second.toString()).toContain('"seq":12,');
  });

  it('writes the same frame header as ws for short, 16-bit and 64-bit lengths', () => {
    for (const length of [0, 125, 126, 65_535, 65_536, 200_000]) {
      const [reference] = Sender.frame(Buffer.alloc(length), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
      expect(textFrameHeader(length)).toEqual(reference);
    }
  });
});
