import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { CallbacksOf, ContractDefinition, OperationsOf } from '@nest-duplex/protocol';
// At run time only the wire entry: the contract builders (and zod) stay out of a browser bundle.
import {
  type Ack,
  type CallbackFrame,
  type CallFrame,
  type ClosingFrame,
  DuplexError,
  EVENTS,
  type SessionFrame,
  type WireError,
} from '@nest-duplex/protocol/wire';

type AnyFunction = (...args: never[]) => unknown;

/** What `service()` returns: every operation as a promise-returning method. */
export type ServiceProxy<Ops> = {
  [K in keyof Ops]: Ops[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** What a client implements for a callback contract; missing methods are answered UNKNOWN_OPERATION. */
export type CallbackImplementation<Cbs> = {
  [K in keyof Cbs]?: Cbs[K] extends (...args: infer A) => infer R ? (...args: A) => R | Promise<Awaited<R>> : never;
};

export interface DuplexClientOptions {
  /** Sent as handshake `auth.token` for the server's `authenticate` hook. */
  token?: string;
  /** How long a request-reply operation waits for its ack before TIMEOUT (ms). */
  callTimeoutMs?: number;
  /** Called when a one-way callback implementation throws, or on a protocol_error. */
  onError?: (error: unknown) => void;
  /** Passed through to socket.io-client. */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * A connection to a duplex node. The session survives reconnects: the
 * client resumes it with the token of the last `session` event, on any node.
 */
export class DuplexClient {
  readonly socket: Socket;
  private current: SessionFrame | null = null;
  /** Highest callback seq seen in this session; replays at or below it are dropped. */
  private lastSeq = 0;
  private readonly implementations = new Map<string, Record<string, AnyFunction>>();
  private readonly callTimeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly sessionListeners = new Set<(frame: SessionFrame) => void>();
  /** Calls whose ack has not come, by call id, in the order they were made. */
  private readonly pending = new Map<string, PendingCall>();
  /** Call ids: unique within the session, since a session outlives this object only through its token. */
  private readonly callIdPrefix = Math.random().toString(36).slice(2, 10);
  private calls = 0;
  /** Counts connections: a call sent on an earlier one may have lost its ack with it. */
  private connection = 0;
  /** Between a disconnect and the next session frame, calls wait rather than go out on a session not yet resumed. */
  private sessionLive = false;

  constructor(url: string, options: DuplexClientOptions = {}) {
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.onError = options.onError ?? ((error) => console.error('[duplex]', error));
    this.socket = io(url, {
      transports: ['websocket'],
      ...options.socket,
      // A function, so every reconnect presents the latest resume token.
      auth: (cb) => cb({ token: options.token, session: this.current?.session, lastSeq: this.lastSeq }),
    });
    this.socket.on(EVENTS.session, (frame: SessionFrame, kept?: () => void) => {
      if (!frame.resumed) this.lastSeq = 0;
      if (frame.missed !== 0) {
        const how = frame.missed > 0 ? String(frame.missed) : 'an unknown number of';
        this.onError(new DuplexError('UNAVAILABLE', `${how} callbacks were lost; reload what they would have changed`));
      }
      this.current = frame;
      kept?.(); // the new resume token is kept: the server retires the ones before it
      this.sessionLive = true;
      this.resend(frame.resumed);
      for (const listener of this.sessionListeners) listener(frame);
    });
    this.socket.on(EVENTS.callback, (frame: CallbackFrame, ack?: (answer: Ack) => void) => {
      if (typeof frame?.seq === 'number') {
        if (frame.seq <= this.lastSeq) return; // replayed after a resume, already handled
        this.lastSeq = frame.seq;
      }
      this.dispatch(frame, ack);
    });
    this.socket.on('connect', () => this.connection++);
    this.socket.on('disconnect', () => (this.sessionLive = false));
    this.socket.on(EVENTS.protocolError, (error: WireError) => this.onError(DuplexError.fromWire(error)));
    // `draining` needs nothing: the server closes the transport, and socket.io-client resumes elsewhere by itself.
    this.socket.on(EVENTS.closing, (frame: ClosingFrame) => frame?.reason === 'displaced' && this.displaced(frame));
  }

  /**
   * Another connection resumed this session: the server closes this one and
   * socket.io-client does not reconnect. The client is done; its calls waiting
   * for an answer fail (they may have run).
   */
  private displaced(frame: ClosingFrame): void {
    const message = `this client's session was taken over: ${frame?.message ?? 'another connection resumed it'}`;
    this.onError(new DuplexError('CONFLICT', message));
    for (const call of [...this.pending.values()]) call.settle({ ok: false, error: { code: 'UNAVAILABLE', message } });
  }

  /** Connects and resolves once the server has opened (or resumed) the session. */
  static connect(url: string, options: DuplexClientOptions = {}): Promise<DuplexClient> {
    const client = new DuplexClient(url, options);
    return client.ready().then(() => client);
  }

  /** Resolves with the next `session` frame, or at once if the client has one and is connected. */
  ready(): Promise<SessionFrame> {
    if (this.current && this.socket.connected) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const done = (frame: SessionFrame) => {
        this.sessionListeners.delete(done);
        this.socket.off('connect_error', failed);
        resolve(frame);
      };
      const failed = (error: Error & { data?: unknown }) => {
        // A refusal with a code is final unless the socket retries it; a transport error (no node,
        // a proxy's 503) is retried while reconnection is on, and final when it is off.
        if (error.data ? this.socket.active : this.socket.io.reconnection()) return;
        this.sessionListeners.delete(done);
        this.socket.off('connect_error', failed);
        reject(error.data ? DuplexError.fromWire(error.data) : new DuplexError('UNAVAILABLE', `could not connect: ${error.message}`));
      };
      this.sessionListeners.add(done);
      this.socket.on('connect_error', failed);
    });
  }

  /** Calls `listener` with every `session` frame: the first one and each after a reconnect. Returns the unsubscribe. */
  onSession(listener: (frame: SessionFrame) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  get sessionId(): string | undefined {
    return this.current?.sessionId;
  }

  get nodeId(): string | undefined {
    return this.current?.nodeId;
  }

  /** A typed proxy from a shared contract. */
  service<C extends ContractDefinition>(contract: C, callbacks?: CallbackImplementation<CallbacksOf<C>>): ServiceProxy<OperationsOf<C>>;
  /** A typed proxy from a service name and interfaces. */
  service<Ops, Cbs = Record<string, never>>(name: string, callbacks?: CallbackImplementation<Cbs>): ServiceProxy<Ops>;
  service(target: string | ContractDefinition, callbacks?: object): unknown {
    const name = typeof target === 'string' ? target : target.name;
    if (callbacks) this.implementations.set(name, callbacks as Record<string, AnyFunction>);
    return new Proxy(
      {},
      {
        get: (_, op) =>
          // `then` stays undefined so a proxy is never mistaken for a promise.
          typeof op === 'string' && op !== 'then' ? (...args: unknown[]) => this.call(name, op, args) : undefined,
      },
    );
  }

  /**
   * The untyped form of an operation call. Each call carries an id; if the
   * connection drops before its ack comes, it is sent again, with the same
   * id, once the session has resumed (on any node), and the node answers it
   * from its record instead of running it twice. If the session could not
   * be resumed, a call already sent fails with UNAVAILABLE: whether it ran
   * is unknown. TIMEOUT after `callTimeoutMs` in all.
   */
  call(service: string, op: string, args: unknown[]): Promise<unknown> {
    const id = `${this.callIdPrefix}-${++this.calls}`;
    return new Promise((resolve, reject) => {
      const call: PendingCall = {
        frame: { service, op, args, id },
        sentOn: null,
        settle: (ack) => {
          clearTimeout(timer);
          this.pending.delete(id);
          if (ack.ok) resolve(ack.result);
          else reject(DuplexError.fromWire(ack.error));
        },
      };
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DuplexError('TIMEOUT', `${service}.${op} got no answer within ${this.callTimeoutMs} ms`));
      }, this.callTimeoutMs);
      this.pending.set(id, call);
      this.send(call);
    });
  }

  close(): void {
    this.socket.close();
    for (const call of this.pending.values()) {
      call.settle({ ok: false, error: { code: 'UNAVAILABLE', message: 'the client was closed before the call was answered' } });
    }
  }

  /** Sends on the current connection once its session frame is in; until then the call waits for it. */
  private send(call: PendingCall): void {
    if (!this.sessionLive || !this.socket.connected) return;
    const connection = this.connection;
    call.sentOn = connection;
    this.socket.emit(EVENTS.call, call.frame, (ack: Ack) => {
      if (this.pending.get(call.frame.id!) === call) call.settle(ack);
    });
  }

  /** A session frame: send what never went out, and again what went out on an earlier connection. */
  private resend(resumed: boolean): void {
    for (const call of [...this.pending.values()]) {
      if (call.sentOn === this.connection) continue;
      if (call.sentOn !== null && !resumed) {
        call.settle({ ok: false, error: { code: 'UNAVAILABLE', message: 'the session was lost before this call was answered; it may have run' } });
        continue;
      }
      this.send(call);
    }
  }

  /**
   * Not async: a one-way callback whose implementation returns a plain value
   * is then handled without a promise and a microtask per delivery, which a
   * client subscribed to a busy topic pays on every frame.
   */
  private dispatch(frame: CallbackFrame, ack?: (answer: Ack) => void): void {
    const method = this.implementations.get(frame?.service)?.[frame?.method];
    if (typeof method !== 'function') {
      const error = new DuplexError('UNKNOWN_OPERATION', `this client does not implement ${frame?.service}.${frame?.method}`);
      return ack ? ack({ ok: false, error: error.toWire() }) : this.onError(error);
    }
    let result: unknown;
    try {
      result = (method as (...args: unknown[]) => unknown)(...(frame.args ?? []));
    } catch (error) {
      return this.failed(error, ack);
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => ack?.({ ok: true, result: value }),
        (error: unknown) => this.failed(error, ack),
      );
    } else {
      ack?.({ ok: true, result });
    }
  }

  private failed(error: unknown, ack?: (answer: Ack) => void): void {
    if (!ack) return this.onError(error);
    const wire: WireError =
      error instanceof DuplexError ? error.toWire() : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
    ack({ ok: false, error: wire });
  }
}

interface PendingCall {
  frame: CallFrame;
  /** The connection it was last sent on; null if never sent. */
  sentOn: number | null;
  settle(ack: Ack): void;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
