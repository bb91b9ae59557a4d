import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Bus } from '../cluster/bus';
import { BROADCAST } from '../cluster/bus-address';
import type { BusMessage, PresenceMessage, PresenceSession, ReapMessage } from '../cluster/bus-message';

export interface PresenceTiming {
  heartbeatMs: number;
  /** A node silent this long is dead. */
  heartbeatTimeoutMs: number;
  /** Then its sessions get this long to resume elsewhere before they end. */
  sessionGraceMs: number;
}

interface RemoteNode {
  lastSeen: number;
  incarnation: string | null;
  sessions: Map<string, PresenceSession>;
}

/** The job queue whose single active consumer ends the sessions of dead nodes. */
export const REAPER_QUEUE = 'reaper';
/** Session ids remembered as reaped, to drop duplicate reap jobs. */
const REAPED_MEMORY = 100_000;

/**
 * Who is connected where, cluster-wide. Each node heartbeats its sessions on
 * the broadcast address and announces changes as they happen. A node that
 * falls silent for `heartbeatTimeoutMs` is dead; after `sessionGraceMs` (time
 * for its clients to resume elsewhere) every survivor files a reap job, and
 * the one node holding the reaper queue's single active consumer ends each
 * session once, running the services' end hooks.
 */
export class ClusterPresence {
  private readonly logger = new Logger(ClusterPresence.name);
  private readonly nodes = new Map<string, RemoteNode>();
  private readonly pendingReaps = new Map<string, NodeJS.Timeout>();
  private readonly reaped = new Set<string>();
  private readonly incarnation = randomUUID();
  private upSince = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly timing: PresenceTiming,
    private readonly local: () => PresenceSession[],
    private readonly endRemote: (session: PresenceSession) => Promise<void>,
    private readonly evictLocal: (sessionId: string) => void,
  ) {
    bus.consumeJobs(REAPER_QUEUE, (message) => this.reap(message));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  /** The bus (re)connected: silence while we were away says nothing about the others. */
  busUp(): void {
    this.upSince = Date.now();
    void this.heartbeat();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const timer of this.pendingReaps.values()) clearTimeout(timer);
    await this.heartbeat(true);
  }

  handle(message: PresenceMessage): void {
    if (message.nodeId === this.bus.nodeId) return;
    const node = this.node(message.nodeId);
    switch (message.type) {
      case 'heartbeat': {
        if (message.leaving) return this.dead(message.nodeId, message.sessions);
        if (node.incarnation !== null && node.incarnation !== message.incarnation) {
          // Restarted under the same id: the old process's sessions died with it.
          const gone = [...node.sessions.values()].filter((s) => !message.sessions.some((n) => n.id === s.id));
          if (gone.length > 0) this.dead(`${message.nodeId} (before its restart)`, gone, false);
        }
        node.incarnation = message.incarnation;
        node.sessions = new Map(message.sessions.map((s) => [s.id, s]));
        break;
      }
      case 'session-update':
        node.sessions.set(message.session.id, message.session);
        // The session resumed on that node: our copy is stale, without ending it.
        this.evictLocal(message.session.id);
        break;
      case 'session-gone':
        node.sessions.delete(message.sessionId);
        break;
    }
  }

  /** Tells the cluster about a change of a local session. Best effort: heartbeats repair a lost one. */
  announce(session: PresenceSession): void {
    this.send({ type: 'session-update', nodeId: this.bus.nodeId, session });
  }

  gone(sessionId: string): void {
    this.send({ type: 'session-gone', nodeId: this.bus.nodeId, sessionId });
  }

  /** A session on another live node, by id. */
  find(sessionId: string): PresenceSession | undefined {
    for (const node of this.nodes.values()) {
      const session = node.sessions.get(sessionId);
      if (session) return session;
    }
    return undefined;
  }

  /** Sessions subscribed to `topic` on other nodes. */
  remoteMembers(topic: string): PresenceSession[] {
    return [...this.nodes.values()].flatMap((node) => [...node.sessions.values()].filter((s) => s.topics.includes(topic)));
  }

  liveNodes(): string[] {
    return [this.bus.nodeId, ...this.nodes.keys()];
  }

  private node(nodeId: string): RemoteNode {
    let node = this.nodes.get(nodeId);
    if (!node) {
      this.nodes.set(nodeId, (node = { lastSeen: Date.now(), incarnation: null, sessions: new Map() }));
      this.logger.log(`node ${nodeId} joined`);
    }
    node.lastSeen = Date.now();
    // A node we had given up on is back (a network blip): its sessions live on.
    const pending = this.pendingReaps.get(nodeId);
    if (pending) {
      clearTimeout(pending);
      this.pendingReaps.delete(nodeId);
    }
    return node;
  }

  private tick(): void {
    void this.heartbeat();
    if (!this.bus.connected) return;
    const now = Date.now();
    for (const [nodeId, node] of this.nodes) {
      if (now - Math.max(node.lastSeen, this.upSince) > this.timing.heartbeatTimeoutMs) {
        this.dead(nodeId, [...node.sessions.values()]);
      }
    }
  }

  private dead(nodeId: string, sessions: PresenceSession[], forget = true): void {
    if (forget) this.nodes.delete(nodeId);
    this.logger.warn(`node ${nodeId} is gone; its ${sessions.length} sessions end in ${this.timing.sessionGraceMs} ms`);
    const timer = setTimeout(() => {
      this.pendingReaps.delete(nodeId);
      this.fileReap({ type: 'reap', nodeId, sessions }, 0);
    }, this.timing.sessionGraceMs);
    this.pendingReaps.set(nodeId, timer);
  }

  /** Retries while the bus is down: these sessions must end. */
  private fileReap(job: ReapMessage, attempt: number): void {
    this.bus.enqueueJob(REAPER_QUEUE, job).catch((error: unknown) => {
      this.logger.warn(`could not file the reap of ${job.nodeId}: ${(error as Error).message}; retrying`);
      setTimeout(() => this.fileReap(job, attempt + 1), Math.min(5_000, 200 * 2 ** attempt)).unref();
    });
  }

  private async reap(message: BusMessage): Promise<void> {
    if (message.type !== 'reap') return;
    for (const session of message.sessions) {
      if (this.reaped.has(session.id)) continue; // every survivor files the same job
      if (this.find(session.id) || this.local().some((s) => s.id === session.id)) continue; // resumed elsewhere
      this.reaped.add(session.id);
      if (this.reaped.size > REAPED_MEMORY) this.reaped.delete(this.reaped.values().next().value!);
      await this.endRemote(session);
    }
  }

  private async heartbeat(leaving = false): Promise<void> {
    if (!this.bus.connected) return;
    await this.bus
      .publish(BROADCAST, {
        type: 'heartbeat',
        nodeId: this.bus.nodeId,
        incarnation: this.incarnation,
        sessions: this.local(),
        leaving,
      })
      .catch(() => undefined);
  }

  private send(message: PresenceMessage): void {
    if (!this.bus.connected) return;
    this.bus.publish(BROADCAST, message).catch(() => undefined);
  }
}
