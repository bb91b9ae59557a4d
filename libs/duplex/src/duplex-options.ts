export interface DuplexOptions {
  /** This node's id on the bus. Default: `NODE_ID`, else a random id. */
  nodeId?: string;
  /**
   * RabbitMQ: with a `url` (default `AMQP_URL`) the bus and the shared state's log run on it; without one,
   * on the in-process memory bus and log (a single node). `prefix` (of every exchange and queue) defaults
   * to `AMQP_PREFIX`, else "duplex".
   */
  amqp?: { url?: string; prefix?: string };
  /** Secret that signs session resume tokens; every node of a cluster must share it. Default: `DUPLEX_SECRET`, else random. */
  secret?: string;
  /** How long a disconnected session waits for its client to resume before it ends (ms). */
  sessionGraceMs?: number;
  /** Default wait for a request-reply callback's answer (ms). */
  callbackTimeoutMs?: number;
  /** Largest `call` frame accepted, as JSON bytes; larger ones get BAD_REQUEST. */
  maxCallBytes?: number;
  /** Calls a session may have queued before new ones get UNAVAILABLE; also how many call outcomes it remembers for resends. */
  maxPendingCalls?: number;
  /** One-way callbacks kept per session to replay to a client that resumes. */
  replayWindow?: number;
  /**
   * Checks the handshake's `auth.token`; returns the session's identity or
   * throws (the client gets connect_error with data.code UNAUTHENTICATED).
   * Without it every client is anonymous.
   */
  authenticate?: (token: string | undefined) => unknown | Promise<unknown>;
  /** Socket.IO path. */
  path?: string;
  /** How often a node tells the cluster it is alive (ms). */
  heartbeatMs?: number;
  /** A node silent this long is dead; its sessions then get `sessionGraceMs` to resume elsewhere (ms). */
  heartbeatTimeoutMs?: number;
}

export type ResolvedDuplexOptions = Required<Omit<DuplexOptions, 'authenticate' | 'amqp'>> & Pick<DuplexOptions, 'authenticate' | 'amqp'>;

export const DUPLEX_OPTIONS = Symbol('duplex:options');

export function resolveOptions(options: DuplexOptions, env: NodeJS.ProcessEnv = process.env): ResolvedDuplexOptions {
  const number = (value: string | undefined, fallback: number) => {
    const parsed = value === undefined ? NaN : Number(value);
    return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
  };
  return {
    ...options,
    nodeId: options.nodeId ?? env.NODE_ID ?? `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    secret: options.secret ?? env.DUPLEX_SECRET ?? require('node:crypto').randomBytes(32).toString('hex'),
    sessionGraceMs: options.sessionGraceMs ?? number(env.SESSION_GRACE_MS, 5_000),
    callbackTimeoutMs: options.callbackTimeoutMs ?? number(env.CALLBACK_TIMEOUT_MS, 10_000),
    maxCallBytes: options.maxCallBytes ?? 64 * 1024,
    maxPendingCalls: options.maxPendingCalls ?? 256,
    replayWindow: options.replayWindow ?? 1_000,
    path: options.path ?? '/socket.io',
    heartbeatMs: options.heartbeatMs ?? number(env.HEARTBEAT_MS, 1_000),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? number(env.HEARTBEAT_TIMEOUT_MS, 3_000),
  };
}
