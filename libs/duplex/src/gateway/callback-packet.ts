import type { Socket } from 'socket.io';
import { CallbackFrame, EVENTS } from '../protocol';

interface EncodedBody {
  service: string;
  method: string;
  /** `"service":…,"method":…,"args":[…]}`: the frame's JSON after its opening brace. */
  tail: string;
}

/** Keyed by the args array, which every session's copy of one callback shares. */
const bodies = new WeakMap<unknown[], EncodedBody>();

/**
 * The Socket.IO packet of a one-way callback frame, built by hand. A topic
 * callback reaches every local subscriber with only `seq` differing, so the
 * rest is serialized once per callback instead of once per session (which
 * socket.io-parser would do, after scanning the whole frame for binary).
 * The bytes are what socket.io-parser writes for an EVENT without binary or
 * ack in the default namespace: "2" followed by the JSON of [event, frame].
 * Frames come off the bus as JSON, so they hold no binary.
 */
export function callbackPacket(frame: CallbackFrame, seq: number): string {
  let body = bodies.get(frame.args);
  if (!body || body.service !== frame.service || body.method !== frame.method) {
    const tail = JSON.stringify({ service: frame.service, method: frame.method, args: frame.args }).slice(1);
    body = { service: frame.service, method: frame.method, tail };
    bodies.set(frame.args, body);
  }
  return `2[${JSON.stringify(EVENTS.callback)},{"seq":${seq},${body.tail}]`;
}

interface EngineClient {
  writeToEngine(packets: string, options: object): void;
}

/**
 * Writes an encoded packet to the socket's engine, as Socket.IO's own
 * broadcast does (the adapter contract, `Client#writeToEngine`), bypassing
 * the per-emit encoder.
 */
export function writePacket(socket: Socket, packet: string): void {
  if (!socket.connected) return;
  (socket as unknown as { client: EngineClient }).client.writeToEngine(packet, {});
}
