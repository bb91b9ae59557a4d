import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, type Type } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { type ClosingFrame, DuplexError, EVENTS, type HandshakeAuth, PROTOCOL_VERSION, type SessionFrame, type WireError } from '@nest-duplex/protocol';
import { nestsDeeperThan } from '../runtime/nesting-depth';
import { type ConnectionCloseCause, NodeEvents } from '../runtime/node-events';
import { NodeDrain } from '../runtime/node-drain';
import { OperationDispatcher } from '../runtime/operation-dispatcher';
import type { Session } from '../runtime/session';
import { SessionAdmission } from '../runtime/session-admission';
import { SessionRegistry } from '../runtime/session-registry';
import { CallRateLimit } from './call-rate-limit';
import type { Backlog, EngineSocket, OutboundLimits } from './outbound-limits';
import { clientAddress } from './client-address';
import { RateLimitedLog } from './rate-limited-log';
import { SessionQuotas } from './session-quotas';
import type { DuplexAuthenticator, DuplexHandshake } from './duplex-authenticator';
import { isOriginAllowed } from './origin-policy';
import { SessionToken } from './session-token';
import { SocketConnection } from './socket-connection';

/** How long a stopping node waits for the calls already running to answer. */
const STOP_DRAIN_MS = 10_000;

interface SocketData {
  session: Session;
  /** Set once the connection took the session over. */
  attached?: boolean;
  resumed: boolean;
  lastSeq: number;
  /** Asked to move by a drain: its transport's close is the drain's. */
  moving?: boolean;
}

/**
 * The Socket.IO edge of a node: handshake, sessions, `call` frames in and
 * `callback` frames out. It attaches to the Nest HTTP server, so the app
 * serves HTTP and Socket.IO on one port.
 *
 * It is a provider rather than a @WebSocketGateway because the protocol is a
 * single `call` event routed by contract metadata, and the server options
 * (path, frame limit) come from DuplexModule's runtime options, which a
 * decorator cannot see.
 */
@Injectable()
export class DuplexGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DuplexGateway.name);
  private readonly tokens: SessionToken;
  private readonly callRate: CallRateLimit;
  private io: Server | null = null;
  /** Bad input is logged, but a flood of it costs the log at most one line per window and kind. */
  private readonly closedLog = new RateLimitedLog((line) => this.logger.warn(line));
  private readonly slowLog = new RateLimitedLog((line) => this.logger.warn(line));
  private readonly refusedLog = new RateLimitedLog((line) => this.logger.warn(line));
  private readonly rejectedLog = new RateLimitedLog((line) => this.logger.warn(line));
  private authenticator: DuplexAuthenticator | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    private readonly admission: SessionAdmission,
    private readonly sessions: SessionRegistry,
    private readonly dispatcher: OperationDispatcher,
    private readonly events: NodeEvents,
    private readonly quotas: SessionQuotas,
    private readonly drain: NodeDrain,
    @Inject(DUPLEX_OPTIONS) private readonly options: ResolvedDuplexOptions,
  ) {
    this.tokens = new SessionToken(options.secret);
    this.callRate = new CallRateLimit(options.callsPerSecond, options.callBurst);
  }

  get server(): Server | null {
    return this.io;
  }

  /** The transport's frame limit (Socket.IO's maxHttpBufferSize), in bytes. */
  get maxFrameBytes(): number {
    return Math.max(1_000_000, this.options.maxCallBytes * 4);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.authenticator = await this.resolveAuthenticator();
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer();
    if (!httpServer) throw new Error('DuplexModule needs an HTTP application (NestFactory.create)');
    this.io = new IoAdapter(httpServer).create(0, {
      path: this.options.path,
      // Transport guard only: frames over it close the connection, so it sits
      // well above maxCallBytes, which answers an oversized call with an ack.
      maxHttpBufferSize: this.maxFrameBytes,
      // Browsers of other origins are refused at the transport (WebSocket upgrades have no CORS), unless allowed.
      // A draining node takes no new connection: the client retries, and lands on another node.
      allowRequest: (request: IncomingMessage, answer: (error: string | null | undefined, ok: boolean) => void) =>
        answer(null, !this.drain.draining && isOriginAllowed(request, this.options.allowedOrigins)),
      cors: { origin: this.options.allowedOrigins.includes('*') ? true : this.options.allowedOrigins },
    } as Partial<ServerOptions> as ServerOptions) as Server;
    // Requests Engine.IO refused before any connection (unknown transport or session id, bad handshake).
    this.io.engine.on('connection_error', (error: { code?: unknown; message?: unknown }) => {
      this.rejectedLog.note(`refused an Engine.IO request: ${String(error.message)} (code ${String(error.code)})`);
    });
    this.io.use((socket, next) => {
      this.handshake(socket).then(
        () => next(),
        (error: unknown) => next(handshakeError(error)),
      );
    });
    this.io.on('connection', (socket) => this.connected(socket));
    this.drain.on('start', (pace) => void this.moveClients(pace));
  }

  /** Asks every connected client, a batch at a time, to resume on another node: the transport closes after the `closing` frame. */
  private async moveClients({ batch, intervalMs }: { batch: number; intervalMs: number }): Promise<void> {
    const closing: ClosingFrame = { reason: 'draining', message: 'this node is stopping: resume on another' };
    const asked = new Set<Socket>();
    // Until none is left: a handshake under way when the drain began connects after the first look.
    for (;;) {
      const next = [...(this.io?.of('/').sockets.values() ?? [])].filter((socket) => socket.connected && !asked.has(socket)).slice(0, batch);
      if (next.length === 0) return;
      for (const socket of next) {
        asked.add(socket);
        (socket.data as SocketData).moving = true;
        socket.emit(EVENTS.closing, closing);
        socket.conn.close(); // the transport, not the Socket.IO session: the client reconnects by itself
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** A class given as `authenticate` is built by Nest's injector, in DuplexModule's scope. */
  private async resolveAuthenticator(): Promise<DuplexAuthenticator | null> {
    const given = this.options.authenticate;
    if (!given) return null;
    if (typeof given.prototype?.authenticate === 'function') return this.moduleRef.create(given as Type<DuplexAuthenticator>);
    return { authenticate: given as (token: string | undefined, handshake: DuplexHandshake) => unknown };
  }

  /**
   * The clients move to other nodes first (the drain), then calls still running answer before the
   * last sockets close; the sessions left wait out the grace period, resumable elsewhere.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain.drain();
    await this.dispatcher.drain(STOP_DRAIN_MS);
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
  }

  private async handshake(socket: Socket): Promise<void> {
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    // Socket.IO keeps the handshake for the connection's life: a large one is refused, and none keeps the credential.
    socket.handshake.auth = {};
    const size = handshakeSize(auth);
    if (size > this.options.maxHandshakeBytes) {
      throw new DuplexError('BAD_REQUEST', `handshake auth is ${size} bytes; the limit is ${this.options.maxHandshakeBytes}`);
    }
    if (
      (auth.token !== undefined && typeof auth.token !== 'string') ||
      (auth.session !== undefined && typeof auth.session !== 'string') ||
      (auth.lastSeq !== undefined && !(Number.isSafeInteger(auth.lastSeq) && (auth.lastSeq as number) >= 0))
    ) {
      throw new DuplexError('BAD_REQUEST', 'handshake auth is { token?: string, session?: string, lastSeq?: integer ≥ 0 }');
    }
    const { token, session: resumeToken, lastSeq } = auth as HandshakeAuth;
    const address = clientAddress(socket.handshake.address, socket.handshake.headers, this.options.trustProxyHops);
    let identity: unknown = null;
    if (this.authenticator) {
      const handshake: DuplexHandshake = { token, headers: socket.handshake.headers, address };
      try {
        identity = (await this.authenticator.authenticate(token, handshake)) ?? null;
      } catch (error) {
        throw error instanceof DuplexError ? error : new DuplexError('UNAUTHENTICATED', 'authentication failed');
      }
    }
    const claim = resumeToken === undefined ? null : this.tokens.verify(resumeToken);
    const seenSeq = lastSeq ?? 0;
    // Only the identity that opened a session, with a token it has not used, continues it; another gets a session of its own.
    const resumed = claim === null ? null : await this.admission.resume(claim, seenSeq, identity);
    const data = socket.data as SocketData;
    if (!resumed) this.quotas.check(identity, address);
    data.session = resumed ?? (await this.admission.open(identity));
    this.quotas.opened(data.session, address);
    data.resumed = resumed !== null;
    data.lastSeq = resumed ? seenSeq : 0;
    // Kept for this connection from here on; if it closes before it is connected, the grace period runs.
    const session = data.session;
    this.sessions.reserve(session);
    const abandon = () => {
      if (!data.attached) this.sessions.abandon(session);
    };
    socket.conn.once('close', abandon);
    // It may have closed while the handshake waited (a move takes its ask's time).
    if (socket.conn.readyState !== 'open') abandon();
  }

  private connected(socket: Socket): void {
    const data = socket.data as SocketData;
    const { session, resumed, lastSeq } = data;
    // It moved to another connection, or ended, between the handshake and now: the transport closes, so
    // the client reconnects (a server-side disconnect would stop it for good) and is told where it stands.
    if (session.ended) return void socket.conn.close();
    data.attached = true;
    const generation = session.issueToken();
    const frame: SessionFrame = {
      protocol: PROTOCOL_VERSION,
      session: this.tokens.sign(session.id, generation),
      sessionId: session.id,
      nodeId: this.options.nodeId,
      resumed,
      missed: session.missedSince(lastSeq),
    };
    const connection = new SocketConnection(socket, frame, this.options);
    // The session frame goes out before any callback is replayed. Its ack says the client keeps the new token.
    socket.emit(EVENTS.session, frame, () => this.admission.confirmToken(session, generation));
    this.sessions.attach(session, connection, lastSeq);
    connection.replayed();

    // Every event the client sends, calls and others alike, counts against its session's rate.
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as (a: unknown) => void) : undefined;
      // First, as the cheapest: a flood is refused before any of it is read.
      if (!this.callRate.admit(session, socket.conn as unknown as EngineSocket)) return this.exhausted(socket, ack);
      if (event !== EVENTS.call) return this.refuse(socket, ack, `unknown event "${String(event).slice(0, 64)}"; send "call"`);
      if (!ack) return this.refuse(socket, undefined, 'a call needs an acknowledgement callback');
      if (args.length !== 1) return this.refuse(socket, ack, 'a call carries exactly one frame');
      void this.dispatcher.dispatch(session, args[0]).then(ack);
    });
    // Socket.IO reports a frame it cannot decode (not JSON, say) as an error, then closes the connection
    // once what is queued is written: the client is told why first.
    let undecodable: string | undefined;
    socket.on('error', (error: unknown) => {
      if (!(error instanceof Error) || undecodable !== undefined) return;
      undecodable = error.message;
      const message = `a frame that is not a valid Socket.IO packet (${undecodable.slice(0, 100)}); the connection closes`;
      socket.emit(EVENTS.protocolError, { code: 'BAD_REQUEST', message } satisfies WireError);
    });
    socket.on('disconnect', (reason, description) => {
      const slow = connection.slow;
      const moved = (socket.data as SocketData).moving === true;
      const closed = slow ? slowConsumer(slow, this.options) : closedFor(reason, description, undecodable, this.maxFrameBytes, moved);
      if (closed) {
        this.events.closed(closed.cause);
        (slow ? this.slowLog : this.closedLog).note(`session ${session.id}: connection closed: ${closed.why}`);
      }
      // A client that closes its socket on purpose ends its session now; a
      // lost transport gets the grace period to come back.
      this.sessions.detach(session, connection, reason === 'client namespace disconnect');
    });
  }

  /** An event past the session's rate: refused, and counted, but not logged (a flood would flood the log). */
  private exhausted(socket: Socket, ack: ((a: unknown) => void) | undefined): void {
    this.events.call('(unknown)', '(unknown)', 'RESOURCE_EXHAUSTED');
    this.answer(socket, ack, { code: 'RESOURCE_EXHAUSTED', message: this.callRate.message });
  }

  private refuse(socket: Socket, ack: ((a: unknown) => void) | undefined, message: string): void {
    this.refusedLog.note(`session ${(socket.data as SocketData).session.id}: ${message}`);
    this.answer(socket, ack, { code: 'BAD_REQUEST', message });
  }

  /** Through the frame's ack if it has one, else as a protocol_error. */
  private answer(socket: Socket, ack: ((a: unknown) => void) | undefined, error: WireError): void {
    if (ack) ack({ ok: false, error });
    else socket.emit(EVENTS.protocolError, error);
  }
}

/** Why the node closed a connection: `cause` labels the metric, `why` is the log line's. */
interface ClosedBy {
  cause: ConnectionCloseCause;
  why: string;
}

function slowConsumer(backlog: Backlog, limits: OutboundLimits): ClosedBy {
  const { maxBufferedFrames, maxBufferedBytes } = limits;
  return {
    cause: 'slow-consumer',
    why: `a slow consumer: ${backlog.frames} packets, ${backlog.bytes} bytes waiting to be written (maxBufferedFrames ${maxBufferedFrames}, maxBufferedBytes ${maxBufferedBytes}); its client may resume`,
  };
}

/** Why a connection was closed for what its client sent, or undefined for an ordinary close. */
function closedFor(reason: string, description: unknown, undecodable: string | undefined, maxFrameBytes: number, moved = false): ClosedBy | undefined {
  if (undecodable !== undefined) return { cause: 'bad-frame', why: `a frame that is not a valid Socket.IO packet (${undecodable}; e.g. not JSON)` };
  if (reason === 'parse error') return { cause: 'bad-frame', why: 'a frame that is not an Engine.IO packet' };
  // Socket.IO closes the transport, without an error, on a packet it cannot take in this state; a drain closes it too, but says so.
  if (reason === 'forced close' && !moved) {
    return { cause: 'bad-frame', why: 'a Socket.IO packet out of place (a second CONNECT, a CONNECT_ERROR, or a packet for a namespace not joined)' };
  }
  if (reason !== 'transport error') return undefined;
  const detail = String((description as { message?: unknown } | undefined)?.message ?? description ?? 'no detail');
  if (/max payload/i.test(detail)) return { cause: 'frame-too-large', why: `a frame over the transport limit (maxHttpBufferSize, ${maxFrameBytes} bytes)` };
  return { cause: 'transport-error', why: `transport error (${detail})` };
}

/** The UTF-8 bytes of the handshake's auth as JSON; anything nested deeper than auth's own shape counts as too large. */
function handshakeSize(auth: Record<string, unknown>): number {
  if (nestsDeeperThan(auth, 4)) return Number.POSITIVE_INFINITY;
  return Buffer.byteLength(JSON.stringify(auth));
}

/** Socket.IO hands `data` to the client's connect_error, so the code survives. */
function handshakeError(error: unknown): Error {
  const duplex = error instanceof DuplexError ? error : new DuplexError('UNAVAILABLE', 'could not open a session');
  return Object.assign(new Error(duplex.message), { data: duplex.toWire() });
}
