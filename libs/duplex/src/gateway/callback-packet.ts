import type { Socket } from 'socket.io';
import { CallbackFrame, EVENTS } from '@nest-duplex/protocol';

/** What precedes the seq in every callback packet: socket.io's EVENT type, the event name, the frame's first key. */
const HEAD = `2[${JSON.stringify(EVENTS.callback)},{"seq":`;
/** Engine.IO's MESSAGE type, which the WebSocket frame carries before the Socket.IO packet. */
const ENGINE_MESSAGE = '4';

/** A WebSocket text frame, header and payload, that differs between sessions only in the seq's digits. */
interface FrameTemplate {
  frame: Buffer;
  /** Byte offset of the seq's digits in `frame`. */
  seqAt: number;
}

interface EncodedBody {
  service: string;
  method: string;
  /** `"service":…,"method":…,"args":[…]}`: the frame's JSON after its opening brace. */
  tail: string;
  /** Frame templates by the number of digits in the seq. */
  frames: Array<FrameTemplate | undefined>;
}

/**
 * The encoding of the callback being written, keyed by its args array, which
 * every session's copy of one callback shares. A topic callback is written to
 * all local subscribers in one synchronous loop, so one entry serves the whole
 * fan-out. Keeping no more matters: replay windows hold each frame for a
 * while, and an encoding tied to every held frame (as a WeakMap would keep
 * it) lived long enough to be promoted out of the young generation, making
 * every scavenge copy it.
 */
let current: { args: unknown[]; body: EncodedBody } | null = null;

function encodedBody(frame: CallbackFrame): EncodedBody {
  const cached = current?.args === frame.args ? current.body : null;
  if (cached && cached.service === frame.service && cached.method === frame.method) return cached;
  const tail = JSON.stringify({ service: frame.service, method: frame.method, args: frame.args }).slice(1);
  const body: EncodedBody = { service: frame.service, method: frame.method, tail, frames: [] };
  current = { args: frame.args, body };
  return body;
}

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
  return packetOf(encodedBody(frame), String(seq));
}

function packetOf(body: EncodedBody, digits: string): string {
  return `${HEAD}${digits},${body.tail}]`;
}

/**
 * The same packet as a whole WebSocket frame (RFC 6455 header, then the
 * Engine.IO message), from a template made once per callback and digit
 * count: a session's frame is one copy and the seq's digits written in.
 * This is the frame Socket.IO's own broadcast pre-encodes once for all
 * sockets; ours differs per session only in the seq. Header and payload are
 * one buffer because ws writes a two-buffer frame corked, as a writev, and a
 * one-buffer frame as a plain write, which costs less per delivery.
 */
export function callbackWebSocketFrame(frame: CallbackFrame, seq: number): Buffer {
  return webSocketFrameOf(encodedBody(frame), String(seq));
}

function webSocketFrameOf(body: EncodedBody, digits: string): Buffer {
  let template = body.frames[digits.length];
  if (!template) {
    const payload = Buffer.from(ENGINE_MESSAGE + packetOf(body, '0'.repeat(digits.length)));
    const header = textFrameHeader(payload.length);
    template = { frame: Buffer.concat([header, payload]), seqAt: header.length + Buffer.byteLength(ENGINE_MESSAGE + HEAD) };
    body.frames[digits.length] = template;
  }
  const frame = Buffer.allocUnsafe(template.frame.length);
  frame.set(template.frame);
  // A handful of ASCII digits: a loop here costs less than a call into Buffer#write's native code.
  for (let i = 0; i < digits.length; i++) frame[template.seqAt + i] = digits.charCodeAt(i);
  return frame;
}

/** The header of an unmasked, final text frame (a server's frame, RFC 6455 §5.2). */
export function textFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length]);
  if (length < 65_536) {
    const header = Buffer.from([0x81, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

interface EngineClient {
  writeToEngine(packets: string, options: { wsPreEncodedFrame?: Buffer[] }): void;
}

interface EngineConnection {
  transport?: { name?: string };
}

/**
 * Writes a one-way callback to the socket's engine, as Socket.IO's own
 * broadcast does (the adapter contract, `Client#writeToEngine`), bypassing
 * the per-emit encoder. On a WebSocket the engine sends the pre-encoded
 * frame as is; on any other transport (or with per-message deflate) it
 * encodes the packet string, which V8 keeps as an unflattened concatenation
 * until then, so building it costs next to nothing when unused. Answers the
 * bytes written (the packet's characters, off a WebSocket).
 */
export function writeCallback(socket: Socket, frame: CallbackFrame, seq: number): number {
  if (!socket.connected) return 0;
  // One lookup of the shared body and one seq-to-text per session, for both forms.
  const body = encodedBody(frame);
  const digits = String(seq);
  const packet = packetOf(body, digits);
  const onWebSocket = (socket.conn as unknown as EngineConnection).transport?.name === 'websocket';
  const wsFrame = onWebSocket ? webSocketFrameOf(body, digits) : undefined;
  (socket as unknown as { client: EngineClient }).client.writeToEngine(packet, wsFrame ? { wsPreEncodedFrame: [wsFrame] } : {});
  return wsFrame ? wsFrame.length : packet.length;
}
