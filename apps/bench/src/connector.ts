/**
 * Many clients connecting, then resuming on another node, in a process of
 * its own (forked by the bench): what a deploy or a node's death asks of a
 * cluster. Raw Socket.IO clients for both systems, so the client side costs
 * the same: this project's handshake plus its session frame and a `join`
 * call; Socket.IO's connect plus a `join` event with an ack.
 */
import { io, type Socket } from 'socket.io-client';
import type { SystemKind } from './subscribers';

export interface ConnectorRequest {
  kind: SystemKind;
  /** Clients connect to the first; they resume on the second. */
  urls: [string, string];
  count: number;
  /** Handshakes under way at once. */
  concurrency: number;
  topics: number;
}

export interface ConnectorReport {
  connectPerSecond: number;
  resumePerSecond: number;
  /** This project: resumes that kept their session (resumed: true). */
  resumed: number;
}

interface Connected {
  socket: Socket;
  topic: string;
  token?: string;
}

const SESSION_TIMEOUT_MS = 30_000;

function open(url: string, auth?: Record<string, unknown>): Socket {
  return io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
}

/** Resolves with the session frame (this project) or on connect (Socket.IO). */
function established(kind: SystemKind, socket: Socket): Promise<{ session?: string; resumed?: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no session within 30 s')), SESSION_TIMEOUT_MS);
    socket.once('connect_error', (error) => (clearTimeout(timer), reject(error)));
    if (kind === 'socketio') return socket.once('connect', () => (clearTimeout(timer), resolve({})));
    socket.once('session', (frame: { session: string; resumed: boolean }, kept?: () => void) => {
      clearTimeout(timer);
      kept?.();
      resolve(frame);
    });
  });
}

async function join(kind: SystemKind, socket: Socket, topic: string): Promise<void> {
  if (kind === 'socketio') return void (await socket.timeout(10_000).emitWithAck('join', topic));
  const ack = (await socket.timeout(10_000).emitWithAck('call', { service: 'relay', op: 'join', args: [topic] })) as { ok: boolean };
  if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
}

/** Runs `work` over `items`, `concurrency` at a time; answers items a second. */
async function rate<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
  return Math.round((items.length / (performance.now() - started)) * 1000);
}

async function run(request: ConnectorRequest): Promise<ConnectorReport> {
  const { kind, urls, count, concurrency, topics } = request;
  const clients: Connected[] = Array.from({ length: count }, (_, i) => ({ socket: undefined as unknown as Socket, topic: `show-${i % topics}` }));
  const connectPerSecond = await rate(clients, concurrency, async (client) => {
    client.socket = open(urls[0]);
    client.token = (await established(kind, client.socket)).session;
    await join(kind, client.socket, client.topic);
  });
  let resumed = 0;
  // Each drops its transport and comes back on the other node: with its resume token here, with a new connection and a new join there.
  const resumePerSecond = await rate(clients, concurrency, async (client) => {
    client.socket.io.engine.close();
    client.socket.close();
    client.socket = open(urls[1], kind === 'duplex' ? { session: client.token, lastSeq: 0 } : undefined);
    const frame = await established(kind, client.socket);
    if (kind === 'duplex') {
      if (frame.resumed) resumed++;
      client.token = frame.session;
    } else {
      await join(kind, client.socket, client.topic);
    }
  });
  for (const client of clients) client.socket.close();
  return { connectPerSecond, resumePerSecond, resumed };
}

process.on('message', (request: ConnectorRequest) => {
  run(request).then(
    (report) => process.send!({ type: 'report', report }),
    (error: Error) => process.send!({ type: 'failed', message: error.message }),
  );
});
