import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { echoContract } from '../apps/demo/src/echo/echo.contract';
import { Clients } from './support/clients';
import { type NodeProcess, startNode } from './support/node-process';

/** How many frames, and how long at most: the suite is bounded in time whatever the machine. */
const FRAMES = 3_000;
const BUDGET_MS = 40_000;
const CONNECTIONS = 8;
/** How long a frame waits for its answer before it counts as answered by nothing. */
const ANSWER_MS = 400;
/** The node's log lines about closed connections come at most once per window, then as a count. */
const LOG_WINDOW_MS = 10_000;

/** `told-closed`: a protocol_error saying why, then the close. */
type Outcome = 'answered' | 'told-closed' | 'closed' | 'nothing';
/** What docs/protocol.md says each kind of frame gets. */
type Kind = 'garbage' | 'undecodable' | 'misplaced' | 'event' | 'call' | 'ignored' | 'oversized';

/** A small seeded generator, so a failure can be replayed with FUZZ_SEED. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const text = (max: number) => Array.from({ length: int(max) }, () => String.fromCharCode(32 + int(95))).join('');
  const json = (depth = 0): unknown => {
    switch (int(depth > 3 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return int(1_000) - 500;
      case 2:
        return next() < 0.5;
      case 3:
        return text(20);
      case 4:
        return pick(['', 'call', 'echo', 'whoAmI', '__proto__', 'constructor', '💥', 'x'.repeat(200)]);
      case 5:
        return Array.from({ length: int(4) }, () => json(depth + 1));
      case 6:
        return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(['service', 'op', 'args', 'id', text(6)]), json(depth + 1)]));
      default:
        return { service: pick(['echo', 'seat-booking', 'nope']), op: pick(['whoAmI', 'wait', 'toString', '']), args: json(depth + 1), id: json(depth + 1) };
    }
  };
  /** One frame of a kind, as the WebSocket message a client would send. */
  const frame = (ackId: number): { kind: Kind; data: string | Buffer } => {
    const roll = next();
    // Not an Engine.IO packet: binary (a Socket.IO attachment nobody announced), or text of no packet type.
    if (roll < 0.12) return { kind: 'garbage', data: next() < 0.5 ? randomBytes(1 + int(64)) : pick(['7', '9x', ' ', 'a', '{}', '[]', '\u0000']) + text(30) };
    if (roll < 0.3) {
      // An Engine.IO message that is no Socket.IO packet: an unknown type, JSON that is not, a payload of the wrong shape.
      const body = pick([
        `${pick([7, 8, 9])}${text(20)}`,
        `2${pick(['{', 'x', '"'])}${text(10)}`,
        `2{"not":"an array"}`,
        `2["connect"]`,
        `2["disconnect",1]`,
        `2[]`,
        `2${ackId}[`,
        `0{"${text(5)}`,
        `3${ackId}{"ack":"not an array"}`,
      ]);
      return { kind: 'undecodable', data: `4${body}` };
    }
    if (roll < 0.33) {
      // A valid Socket.IO packet out of place: a second CONNECT, a CONNECT_ERROR, one for a namespace not joined.
      return { kind: 'misplaced', data: `4${pick(['0', '0{}', '4{"message":"x"}', '2/other,["x"]', '1/other,'])}` };
    }
    if (roll < 0.45) {
      // A Socket.IO event that is not a call: answered through its ack, or with protocol_error.
      const name = pick<string | number>(['shout', 'callback', 'session', 'protocol_error', 42, text(10) || 'x']);
      const withAck = next() < 0.5;
      return { kind: 'event', data: `42${withAck ? ackId : ''}${JSON.stringify([name, json()])}` };
    }
    if (roll < 0.93) {
      // A call with an ack: frames of every shape, answered with a code or a result.
      const args = next() < 0.3 ? [json(), json()] : [json()];
      return { kind: 'call', data: `42${ackId}${JSON.stringify(['call', ...args])}` };
    }
    if (roll < 0.995) {
      // Valid Engine.IO/Socket.IO packets that ask for nothing: a pong, a noop, an ack nobody asked for.
      return { kind: 'ignored', data: pick(['3', '6', `43${900_000 + int(1_000)}[]`, `43${900_000 + int(1_000)}["x"]`]) };
    }
    return { kind: 'oversized', data: `42${ackId}["call",${JSON.stringify('x'.repeat(1_100_000))}]` };
  };
  return { frame };
}

/** A raw WebSocket speaking Engine.IO 4 / Socket.IO 5 by hand, with a session open. */
class RawConnection {
  private listeners = new Set<(data: string) => void>();
  closed = false;
  private closedListeners = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = isBinary ? '' : data.toString();
      if (text === '2') return ws.send('3'); // the server's ping
      for (const listener of this.listeners) listener(text);
    });
    ws.on('close', () => {
      this.closed = true;
      for (const listener of this.closedListeners) listener();
    });
    ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<RawConnection> {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const connection = new RawConnection(ws);
    const session = connection.next((text) => /^42\d*\["session"/.test(text), 5_000);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('40');
    if ((await session) !== 'answered') throw new Error('no session frame');
    return connection;
  }

  /** Resolves with how the node reacted within `ms`: a packet that `matches`, the connection closing, or nothing. */
  next(matches: (text: string) => boolean, ms: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const done = (outcome: Outcome) => {
        clearTimeout(timer);
        this.listeners.delete(onText);
        this.closedListeners.delete(onClose);
        resolve(outcome);
      };
      const onText = (text: string) => matches(text) && done('answered');
      const onClose = () => done('closed');
      const timer = setTimeout(() => done(this.closed ? 'closed' : 'nothing'), ms);
      this.listeners.add(onText);
      this.closedListeners.add(onClose);
      if (this.closed) done('closed');
    });
  }

  async send(data: string | Buffer, ackId: number): Promise<Outcome> {
    // An answer is this frame's ack, or a protocol_error; a close also ends the wait.
    let told = false;
    const answered = this.next((text) => {
      told = text.startsWith('42["protocol_error"');
      return told || text.startsWith(`43${ackId}[`);
    }, ANSWER_MS);
    this.ws.send(data);
    const outcome = await answered;
    // A protocol_error may be the last word before the close: wait for it, so the close is this frame's.
    if (outcome === 'answered' && told && (await this.next(() => false, 200)) === 'closed') return 'told-closed';
    return outcome;
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Hand-made Engine.IO and Socket.IO frames, valid and not, against a node
 * process: it survives, every frame is answered or its connection is closed
 * and counted and logged, and only the frames the protocol says it ignores
 * get nothing.
 */
describe('fuzzed frames against one node', () => {
  const clients = new Clients();
  let node: NodeProcess;
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const outcomes = new Map<Kind, Record<Outcome, number>>();
  let sent = 0;

  beforeAll(async () => {
    node = await startNode({ AMQP_URL: '' });
  });
  afterAll(async () => {
    clients.closeAll();
    await node.stop();
  });

  it(`answers, or closes and logs, every frame, and keeps serving (seed ${seed})`, async () => {
    const { frame } = generator(seed);
    const deadline = Date.now() + BUDGET_MS;
    let ackIds = 0;
    const worker = async () => {
      let connection = await RawConnection.open(node.url);
      while (sent < FRAMES && Date.now() < deadline) {
        sent++;
        const ackId = ++ackIds;
        const { kind, data } = frame(ackId);
        const outcome = await connection.send(data, ackId);
        const tally = outcomes.get(kind) ?? { answered: 0, 'told-closed': 0, closed: 0, nothing: 0 };
        tally[outcome]++;
        outcomes.set(kind, tally);
        if (outcome === 'closed' || outcome === 'told-closed') connection = await RawConnection.open(node.url);
        else expect({ kind, closedLater: connection.closed }).toEqual({ kind, closedLater: false });
      }
      connection.close();
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    const report = Object.fromEntries(outcomes);
    console.log(`fuzz seed ${seed}: ${sent} frames`, report);

    // What each kind of frame gets, as docs/protocol.md says: calls and events an answer and the
    // connection goes on; what is no Socket.IO packet a protocol_error and a close; what is no
    // Engine.IO packet (or too large) a close; what asks for nothing, nothing.
    const expected: Record<Kind, Outcome[]> = {
      call: ['answered'],
      event: ['answered'],
      undecodable: ['told-closed'],
      misplaced: ['closed'],
      garbage: ['told-closed', 'closed'],
      oversized: ['closed'],
      ignored: ['nothing'],
    };
    for (const [kind, tally] of outcomes) {
      const unexpected = Object.entries(tally).filter(([outcome, n]) => n > 0 && !expected[kind].includes(outcome as Outcome));
      expect({ kind, unexpected }).toEqual({ kind, unexpected: [] });
    }

    // Every close the clients saw is one the node counted...
    const closes = [...outcomes.values()].reduce((sum, t) => sum + t.closed + t['told-closed'], 0);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const counted = [...metrics.matchAll(/^duplex_connections_closed_total\{cause="[^"]+",node="[^"]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(counted).toBe(closes);
    // ...and logged: a line each, or within a window's count.
    await new Promise((resolve) => setTimeout(resolve, LOG_WINDOW_MS + 1_000));
    const lines = node.output().split('\n');
    const logged =
      lines.filter((l) => l.includes('connection closed:') && !/\d+ more in the last/.test(l)).length +
      lines.reduce((sum, l) => sum + Number(/(\d+) more in the last \d+ s, the last: session [^:]+: connection closed:/.exec(l)?.[1] ?? 0), 0);
    expect(logged).toBe(closes);

    // And the node serves on.
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
    const echo = (await clients.connect(node.url)).service(echoContract);
    expect(await echo.whoAmI()).toMatchObject({ nodeId: expect.any(String) });
  }, BUDGET_MS + LOG_WINDOW_MS + 30_000);
});
