import type { Type } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { topology } from './cluster/amqp-topology';
import { parseBrokerUrls } from './cluster/broker-list';
import type { SessionInfo } from './contracts/session-info';
import type { DuplexAuthenticator, DuplexHandshake } from './gateway/duplex-authenticator';

/** RabbitMQ settings. Without a `url` the node runs alone, on the in-process memory bus and log. */
export interface DuplexAmqpOptions {
  /**
   * The broker, or the brokers of one RabbitMQ cluster: an array, or URLs
   * separated by commas. A node connects to one of them (nodes spread over
   * the list) and fails over to the next when it is lost. Default `AMQP_URL`.
   */
  url?: string | string[];
  /** Prefix of every exchange and queue; clusters sharing a broker need their own. Default `AMQP_PREFIX`, else "duplex". */
  prefix?: string;
  /** Cap of the reconnect backoff (ms). Default `AMQP_MAX_BACKOFF_MS`, else 5000. */
  maxBackoffMs?: number;
  /** How long a node's inbox outlives its broker connection (ms); a node back within it loses nothing. Default `AMQP_INBOX_TTL_MS`, else 60000. */
  inboxTtlMs?: number;
}

/** The shared state's stream (with RabbitMQ). */
export interface DuplexStateOptions {
  /** Entries between snapshots. Default `STATE_SNAPSHOT_EVERY`, else 1000. */
  snapshotEvery?: number;
  /** How long the stream keeps entries (`x-max-age`, e.g. "7D", "12h"). Default `STATE_RETENTION`, else "7D". */
  retention?: string;
}

export interface DuplexOptions {
  /** This node's id on the bus. Default: `NODE_ID`, else a random id. */
  nodeId?: string;
  /** `false`: this node runs alone on the memory bus whatever `AMQP_URL` says (a test app, a tool). */
  amqp?: DuplexAmqpOptions | false;
  state?: DuplexStateOptions;
  /** Signs session resume tokens; every node of a cluster must share it. Default: `DUPLEX_SECRET`; random only for a node without a broker. */
  secret?: string;
  /** How long a disconnected session waits for its client to resume before it ends (ms). Default `SESSION_GRACE_MS`, else 5000. */
  sessionGraceMs?: number;
  /** Default wait for a request-reply callback's answer (ms). Default `CALLBACK_TIMEOUT_MS`, else 10000. */
  callbackTimeoutMs?: number;
  /** Largest call arguments, as UTF-8 bytes of their JSON; larger ones get BAD_REQUEST. Default 65536. */
  maxCallBytes?: number;
  /** Calls a session may have queued before new ones get UNAVAILABLE; also how many call outcomes it remembers for resends. Default 256. */
  maxPendingCalls?: number;
  /** One-way callbacks kept per session to replay to a client that resumes. Default 1000. */
  replayWindow?: number;
  /**
   * Bytes that may wait to be written to one client (a client that stops
   * reading); past it the node cuts the connection and the client resumes.
   * Default `DUPLEX_MAX_BUFFERED_BYTES`, else 1048576 (1 MiB).
   */
  maxBufferedBytes?: number;
  /** Packets that may wait to be written to one client, likewise. Default `DUPLEX_MAX_BUFFERED_FRAMES`, else 4096. */
  maxBufferedFrames?: number;
  /** Calls a session may make per second, sustained; more get RESOURCE_EXHAUSTED. 0: no limit. Default `DUPLEX_CALLS_PER_SECOND`, else 500. */
  callsPerSecond?: number;
  /** Calls a session may make at once before `callsPerSecond` applies. Default `DUPLEX_CALL_BURST`, else 1000. */
  callBurst?: number;
  /** Largest handshake `auth`, as UTF-8 bytes of its JSON; larger is refused with BAD_REQUEST. Default `DUPLEX_MAX_HANDSHAKE_BYTES`, else 8192. */
  maxHandshakeBytes?: number;
  /**
   * Sessions one user (`userIdOf(identity)`) may hold across the cluster;
   * one more is refused with RESOURCE_EXHAUSTED. 0: no limit. Default
   * `DUPLEX_MAX_SESSIONS_PER_USER`, else 100.
   */
  maxSessionsPerUser?: number;
  /**
   * Sessions one client address may hold on this node; one more is refused
   * with RESOURCE_EXHAUSTED. 0: no limit. Behind a proxy every client has the
   * proxy's address unless `trustProxyHops` is set. Default
   * `DUPLEX_MAX_SESSIONS_PER_ADDRESS`, else 0.
   */
  maxSessionsPerAddress?: number;
  /** How long a drain (SIGTERM, or NodeDrain.drain) waits for the node's clients to move, from when it asks them (after `drainDelayMs`), before it stops anyway (ms). Default `DUPLEX_DRAIN_TIMEOUT_MS`, else 10000. */
  drainTimeoutMs?: number;
  /**
   * How long a drain says `draining` on /health before it asks clients to move (ms): time for a load
   * balancer's health checks to take the node out, so the clients' reconnects go elsewhere at once.
   * Default `DUPLEX_DRAIN_DELAY_MS`, else 0 (a reconnect that reaches the node meanwhile is refused
   * and retried).
   */
  drainDelayMs?: number;
  /** Clients a drain asks to move at a time. Default 100. */
  drainBatch?: number;
  /** Time between a drain's batches (ms). Default 100. */
  drainIntervalMs?: number;
  /**
   * How many proxies in front of the node append to `X-Forwarded-For`: the
   * client's address is that many entries from the right. 0 (the default,
   * `DUPLEX_TRUST_PROXY_HOPS`): the header is ignored, since a client can
   * write anything in it.
   */
  trustProxyHops?: number;
  /**
   * Turns the handshake's `auth.token` into the session's identity, or throws
   * to refuse the client (connect_error with data.code UNAUTHENTICATED): a
   * function, or a class implementing DuplexAuthenticator, which Nest builds
   * with its dependencies. Without it every client is anonymous (identity null).
   */
  authenticate?: ((token: string | undefined, handshake: DuplexHandshake) => unknown | Promise<unknown>) | Type<DuplexAuthenticator>;
  /**
   * Who may subscribe a session to a topic (DuplexContext.subscribe): false
   * refuses with FORBIDDEN. Default: every topic is open.
   */
  authorizeSubscription?: (session: SessionInfo, topic: string) => boolean | Promise<boolean>;
  /**
   * Browser origins (`https://app.example`) allowed to connect, besides the
   * node's own (an Origin whose host is the request's Host); `*` allows any.
   * Clients that send no Origin (not browsers) are always allowed. Default
   * `DUPLEX_ALLOWED_ORIGINS` (comma-separated), else none.
   */
  allowedOrigins?: string[];
  /** Socket.IO path. Default "/socket.io". */
  path?: string;
  /** How often a node tells the cluster it is alive (ms). Default `HEARTBEAT_MS`, else 1000. */
  heartbeatMs?: number;
  /** A node silent this long is dead; its sessions then get `sessionGraceMs` to resume elsewhere (ms). Default `HEARTBEAT_TIMEOUT_MS`, else 3000. */
  heartbeatTimeoutMs?: number;
}

export interface ResolvedAmqpOptions extends Required<Omit<DuplexAmqpOptions, 'url'>> {
  /** One or more brokers of one cluster. */
  urls: string[];
}

export interface ResolvedDuplexOptions extends Required<Omit<DuplexOptions, 'authenticate' | 'authorizeSubscription' | 'amqp' | 'state'>> {
  authenticate?: DuplexOptions['authenticate'];
  authorizeSubscription?: DuplexOptions['authorizeSubscription'];
  /** Null: no broker, one node on the memory bus. */
  amqp: ResolvedAmqpOptions | null;
  state: Required<DuplexStateOptions>;
}

export const DUPLEX_OPTIONS = Symbol('duplex:options');

/** Options that do not make sense, alone or together: the node refuses to start. */
export class DuplexOptionsError extends Error {
  constructor(
    readonly problems: string[],
    of = 'DuplexModule',
  ) {
    super(`invalid ${of} options:\n- ${problems.join('\n- ')}`);
    this.name = 'DuplexOptionsError';
  }
}

/**
 * The one place that reads the environment: an option given in code wins,
 * else its variable, else the default. Then checks the options together.
 */
export function resolveOptions(options: DuplexOptions, env: NodeJS.ProcessEnv = process.env): ResolvedDuplexOptions {
  const problems: string[] = [];
  const number = numberReader(env, problems);
  const amqp = resolveAmqp(options.amqp, env, problems);
  const secret = options.secret ?? (env.DUPLEX_SECRET || undefined);
  const resolved: ResolvedDuplexOptions = {
    authenticate: options.authenticate,
    authorizeSubscription: options.authorizeSubscription,
    allowedOrigins: options.allowedOrigins ?? (env.DUPLEX_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    nodeId: options.nodeId ?? (env.NODE_ID || `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`),
    amqp,
    state: {
      snapshotEvery: number('state.snapshotEvery', options.state?.snapshotEvery, 'STATE_SNAPSHOT_EVERY', 1_000, 1),
      retention: options.state?.retention ?? (env.STATE_RETENTION || '7D'),
    },
    secret: secret ?? randomBytes(32).toString('hex'),
    sessionGraceMs: number('sessionGraceMs', options.sessionGraceMs, 'SESSION_GRACE_MS', 5_000),
    callbackTimeoutMs: number('callbackTimeoutMs', options.callbackTimeoutMs, 'CALLBACK_TIMEOUT_MS', 10_000, 1),
    maxCallBytes: number('maxCallBytes', options.maxCallBytes, undefined, 64 * 1024, 1),
    maxPendingCalls: number('maxPendingCalls', options.maxPendingCalls, undefined, 256, 1),
    replayWindow: number('replayWindow', options.replayWindow, undefined, 1_000, 0),
    maxBufferedBytes: number('maxBufferedBytes', options.maxBufferedBytes, 'DUPLEX_MAX_BUFFERED_BYTES', 1024 * 1024, 1024),
    maxBufferedFrames: number('maxBufferedFrames', options.maxBufferedFrames, 'DUPLEX_MAX_BUFFERED_FRAMES', 4_096, 16),
    callsPerSecond: number('callsPerSecond', options.callsPerSecond, 'DUPLEX_CALLS_PER_SECOND', 500, 0),
    callBurst: number('callBurst', options.callBurst, 'DUPLEX_CALL_BURST', 1_000, 1),
    maxHandshakeBytes: number('maxHandshakeBytes', options.maxHandshakeBytes, 'DUPLEX_MAX_HANDSHAKE_BYTES', 8_192, 256),
    maxSessionsPerUser: number('maxSessionsPerUser', options.maxSessionsPerUser, 'DUPLEX_MAX_SESSIONS_PER_USER', 100, 0),
    maxSessionsPerAddress: number('maxSessionsPerAddress', options.maxSessionsPerAddress, 'DUPLEX_MAX_SESSIONS_PER_ADDRESS', 0, 0),
    drainTimeoutMs: number('drainTimeoutMs', options.drainTimeoutMs, 'DUPLEX_DRAIN_TIMEOUT_MS', 10_000, 0),
    drainDelayMs: number('drainDelayMs', options.drainDelayMs, 'DUPLEX_DRAIN_DELAY_MS', 0, 0),
    drainBatch: number('drainBatch', options.drainBatch, undefined, 100, 1),
    drainIntervalMs: number('drainIntervalMs', options.drainIntervalMs, undefined, 100, 0),
    trustProxyHops: number('trustProxyHops', options.trustProxyHops, 'DUPLEX_TRUST_PROXY_HOPS', 0, 0),
    path: options.path ?? '/socket.io',
    heartbeatMs: number('heartbeatMs', options.heartbeatMs, 'HEARTBEAT_MS', 1_000, 1),
    heartbeatTimeoutMs: number('heartbeatTimeoutMs', options.heartbeatTimeoutMs, 'HEARTBEAT_TIMEOUT_MS', 3_000, 1),
  };
  problems.push(...conflicts(resolved, secret !== undefined));
  if (problems.length > 0) throw new DuplexOptionsError(problems);
  return resolved;
}

/** Reads a number option: given in code, else its variable, else the fallback; a bad value is a problem, named. */
export function numberReader(env: NodeJS.ProcessEnv, problems: string[]) {
  return (name: string, value: number | undefined, variable: string | undefined, fallback: number, min = 0): number => {
    const raw = value ?? (env[variable ?? ''] === undefined || env[variable ?? ''] === '' ? undefined : Number(env[variable!]));
    if (raw === undefined) return fallback;
    if (!Number.isFinite(raw) || raw < min) {
      problems.push(`${name}${variable ? ` (${variable})` : ''} is ${value ?? JSON.stringify(env[variable!])}; it must be a number of at least ${min}`);
      return fallback;
    }
    return raw;
  };
}

/** The broker settings, from code or AMQP_*; null without a URL (or with `false`). */
export function resolveAmqp(options: DuplexAmqpOptions | false | undefined, env: NodeJS.ProcessEnv, problems: string[]): ResolvedAmqpOptions | null {
  if (options === false) return null;
  const { urls, problems: invalid } = parseBrokerUrls(options?.url ?? env.AMQP_URL ?? '');
  problems.push(...invalid.map((problem) => `amqp.url${options?.url === undefined ? ' (AMQP_URL)' : ''}: ${problem}`));
  if (urls.length === 0) return null;
  const number = numberReader(env, problems);
  return {
    urls,
    prefix: options?.prefix ?? (env.AMQP_PREFIX || topology.defaultPrefix),
    maxBackoffMs: number('amqp.maxBackoffMs', options?.maxBackoffMs, 'AMQP_MAX_BACKOFF_MS', 5_000, 1),
    inboxTtlMs: number('amqp.inboxTtlMs', options?.inboxTtlMs, 'AMQP_INBOX_TTL_MS', 60_000, 1),
  };
}

function conflicts(o: ResolvedDuplexOptions, secretGiven: boolean): string[] {
  const problems: string[] = [];
  if (o.heartbeatTimeoutMs < 2 * o.heartbeatMs) {
    problems.push(
      `heartbeatTimeoutMs (${o.heartbeatTimeoutMs}) must be at least twice heartbeatMs (${o.heartbeatMs}): one late heartbeat would declare a live node dead`,
    );
  }
  if (o.amqp && !secretGiven) {
    problems.push('a node on a broker needs secret (DUPLEX_SECRET), the same on every node: with a random one, no session could resume on another node');
  }
  if (o.amqp && o.amqp.inboxTtlMs <= o.heartbeatTimeoutMs) {
    problems.push(
      `amqp.inboxTtlMs (${o.amqp.inboxTtlMs}) must exceed heartbeatTimeoutMs (${o.heartbeatTimeoutMs}): a node's inbox would expire before the cluster even noticed it gone`,
    );
  }
  if (!o.path.startsWith('/')) problems.push(`path (${JSON.stringify(o.path)}) must start with "/"`);
  for (const origin of o.allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) {
      problems.push(`allowedOrigins: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path) or "*"`);
    }
  }
  return problems;
}
