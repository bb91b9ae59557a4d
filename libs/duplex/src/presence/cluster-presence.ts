import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { BUS, type Bus } from '../cluster/bus';
import { RecentIds } from '../cluster/recent-ids';
import { BROADCAST, type BusAddress, nodeAddress } from '../cluster/bus-address';
import type {
  BusMessage,
  PresenceMessage,
  PresenceSession,
  PresenceSnapshotMessage,
  PresenceVersion,
  ReapMessage,
} from '../cluster/bus-message';
import { DUPLEX_OPTIONS } from '../duplex-options';
import { type SessionEndHandler, SessionEndHooks } from '../runtime/session-end-hooks';
import { type SessionEvents, SessionRegistry } from '../runtime/session-registry';

export interface PresenceTiming {
  heartbeatMs: number;
  /** A node silent this long is dead. */
  heartbeatTimeoutMs: number;
  /** Then its sessions get this long to resume elsewhere before they end. */
  sessionGraceMs: number;
}

/** This node's own sessions, as presence needs them. */
export interface LocalSessions extends EventEmitter<SessionEvents> {
  /** Every local session as announced. */
  presence(): PresenceSession[];
  /** Another node announces this session: a local copy older than that one (it resumed there) goes, without ending. */
  superseded(session: PresenceSession): void;
}

/** Where a session that is not local lives: on a live node, or on one that is gone while its clients may still resume. */
export interface FoundSession {
  session: PresenceSession;
  nodeId: string;
  /** False when its node left or died: nothing there can hand its callbacks over. */
  live: boolean;
}

/** A node that left or died, whose sessions its clients may resume elsewhere until the grace period ends. */
interface DepartedNode {
  sessions: Map<string, PresenceSession>;
  reap: NodeJS.Timeout;
}

interface RemoteNode {
  lastSeen: number;
  /** The incarnation and version `sessions` are as of; null until the first snapshot. */
  incarnation: string | null;
  version: number;
  sessions: Map<string, PresenceSession>;
  /** When we last asked it for a snapshot, so a node is asked once per heartbeat timeout at most. */
  syncAskedAt: number;
}

/** The job queue whose single active consumer ends the sessions of dead nodes. */
export const REAPER_QUEUE = 'reaper';
/** Session ids remembered as reaped, to drop duplicate reap jobs. */
const REAPED_MEMORY = 100_000;
/** Incarnations remembered as having left: each graceful stop of a node adds one. */
const LEFT_MEMORY = 10_000;

/**
 * Who is connected where, cluster-wide. Each node announces every change of
 * its sessions on the broadcast address, numbered, and heartbeats the number
 * it has reached. A receiver that is behind (it missed a change, reconnected,
 * or has just met the node) asks that node for a snapshot of its sessions, so
 * the steady cost is one small message per change and per heartbeat, however
 * many sessions there are. A node that falls silent for `heartbeatTimeoutMs`
 * is dead; after `sessionGraceMs` (time for its clients to resume elsewhere)
 * every survivor files a reap job, and the one node holding the reaper
 * queue's single active consumer ends each session once, running the
 * services' end hooks.
 */
@Injectable()
export class ClusterPresence {
  private readonly logger = new Logger(ClusterPresence.name);
  private readonly nodes = new Map<string, RemoteNode>();
  private readonly departed = new Map<string, DepartedNode>();
  /** Incarnations that said they were leaving: whatever else they send is from a process on its way out. */
  private readonly left = new RecentIds(LEFT_MEMORY);
  private stopped = false;
  private readonly reaped = new RecentIds(REAPED_MEMORY);
  private readonly incarnation = randomUUID();
  /** Changes of local sessions announced by this process (one per announcement, however many sessions it names). */
  private version = 0;
  /** Changes of local sessions not yet announced: the latest state of each, null once it left. */
  private readonly changes = new Map<string, PresenceSession | null>();
  private upSince = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(DUPLEX_OPTIONS) private readonly timing: PresenceTiming,
    @Inject(SessionRegistry) private readonly local: LocalSessions,
    @Inject(SessionEndHooks) private readonly endHooks: Pick<SessionEndHandler, 'endedRemote'>,
  ) {
    bus.consumeJobs(REAPER_QUEUE, (message) => this.reap(message));
    local.on('left', (session) => this.gone(session.id));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  /** The bus (re)connected: silence while we were away says nothing about the others. */
  busUp(): void {
    this.upSince = Date.now();
    this.heartbeat();
  }

  /** The node's last word: its sessions, leaving. Nothing is announced after it, so nobody takes the node back. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const departed of this.departed.values()) clearTimeout(departed.reap);
    const last = this.snapshot(true);
    this.changes.clear(); // the snapshot has them
    this.stopped = true;
    if (this.bus.connected) await this.bus.publish(BROADCAST, last).catch(() => undefined);
  }

  handle(message: PresenceMessage): void {
    if (message.nodeId === this.bus.nodeId) return;
    if (message.type === 'presence-sync') return this.send(nodeAddress(message.nodeId), this.snapshot(false));
    // Late words of a node that left (its end hooks' announcements) must not bring it back.
    if (this.left.has(message.incarnation)) return;
    const node = this.node(message.nodeId);
    switch (message.type) {
      case 'heartbeat':
        if (message.version === 0) {
          // A node that has announced nothing has no sessions: nothing to ask for.
          return this.applySnapshot(message.nodeId, node, { ...message, type: 'presence-snapshot', sessions: [] });
        }
        if (node.incarnation !== message.incarnation || node.version !== message.version) this.askSnapshot(message.nodeId, node);
        return;
      case 'presence-changes':
        for (const session of message.updated) {
          this.local.superseded(session);
          this.claim(session.id);
        }
        if (!this.inStep(message.nodeId, node, message)) return;
        for (const session of message.updated) node.sessions.set(session.id, session);
        for (const sessionId of message.gone) node.sessions.delete(sessionId);
        return;
      case 'presence-snapshot':
        this.applySnapshot(message.nodeId, node, message);
        if (message.leaving) {
          this.left.seen(message.incarnation);
          this.dead(message.nodeId, message.sessions);
        }
        return;
    }
  }

  /**
   * Tells the cluster about a change of a local session, with the other
   * changes of the moment. Best effort: a receiver that misses it catches up
   * from a snapshot.
   */
  announce(session: PresenceSession): void {
    this.change(session.id, session);
  }

  private gone(sessionId: string): void {
    this.change(sessionId, null);
  }

  /**
   * A handshake announces a session up to three times (it opens, its token is
   * confirmed, it joins a topic), and handshakes come many at once when
   * clients move: sent once per turn of the event loop, the latest state of
   * each, they cost one message to every node instead of one each. Not held
   * longer: what a node announces is what the survivors end its sessions
   * with (the end hooks' attributes) if it is killed the next moment.
   */
  private change(sessionId: string, session: PresenceSession | null): void {
    if (this.changes.size === 0) setImmediate(() => this.flush());
    this.changes.set(sessionId, session);
  }

  private flush(): void {
    if (this.changes.size === 0) return;
    const updated: PresenceSession[] = [];
    const gone: string[] = [];
    for (const [sessionId, session] of this.changes) {
      if (session) updated.push(session);
      else gone.push(sessionId);
    }
    this.changes.clear();
    this.send(BROADCAST, { type: 'presence-changes', ...this.nextVersion(), updated, gone });
  }

  /**
   * A session that is not local, by id: on a live node, or on a node that
   * left or died less than the grace period ago (its client may still resume
   * it, for heartbeat timeout + grace after the node's last sign of life).
   */
  find(sessionId: string): FoundSession | undefined {
    for (const [nodeId, node] of this.nodes) {
      const session = node.sessions.get(sessionId);
      if (session) return { session, nodeId, live: true };
    }
    for (const [nodeId, node] of this.departed) {
      const session = node.sessions.get(sessionId);
      if (session) return { session, nodeId, live: false };
    }
    return undefined;
  }

  /** A gone node's session resumed here or on another node: it is no longer among those the grace period ends. */
  claim(sessionId: string): void {
    for (const departed of this.departed.values()) departed.sessions.delete(sessionId);
  }

  /** Sessions subscribed to `topic` on other nodes. */
  remoteMembers(topic: string): PresenceSession[] {
    return [...this.nodes.values()].flatMap((node) => [...node.sessions.values()].filter((s) => s.topics.includes(topic)));
  }

  isLive(nodeId: string): boolean {
    return nodeId === this.bus.nodeId || this.nodes.has(nodeId);
  }

  liveNodes(): string[] {
    return [this.bus.nodeId, ...this.nodes.keys()];
  }

  private node(nodeId: string): RemoteNode {
    let node = this.nodes.get(nodeId);
    if (!node) {
      node = { lastSeen: Date.now(), incarnation: null, version: 0, sessions: new Map(), syncAskedAt: 0 };
      this.nodes.set(nodeId, node);
      this.logger.log(`node ${nodeId} joined`);
    }
    node.lastSeen = Date.now();
    // A node we had given up on is back (a network blip): its sessions live on.
    const departed = this.departed.get(nodeId);
    if (departed) {
      clearTimeout(departed.reap);
      this.departed.delete(nodeId);
    }
    return node;
  }

  /** The next change of a remote node's sessions, in order? If not, we missed one: ask for a snapshot. */
  private inStep(nodeId: string, node: RemoteNode, message: PresenceVersion): boolean {
    if (node.incarnation === message.incarnation && message.version === node.version + 1) {
      node.version = message.version;
      return true;
    }
    this.askSnapshot(nodeId, node);
    return false;
  }

  private askSnapshot(nodeId: string, node: RemoteNode): void {
    const now = Date.now();
    if (now - node.syncAskedAt < this.timing.heartbeatTimeoutMs) return;
    node.syncAskedAt = now;
    this.send(nodeAddress(nodeId), { type: 'presence-sync', nodeId: this.bus.nodeId });
  }

  private applySnapshot(nodeId: string, node: RemoteNode, snapshot: PresenceSnapshotMessage): void {
    if (node.incarnation !== null && node.incarnation !== snapshot.incarnation) {
      // Restarted under the same id: the old process's sessions died with it.
      const gone = [...node.sessions.values()].filter((s) => !snapshot.sessions.some((n) => n.id === s.id));
      if (gone.length > 0) this.dead(`${nodeId} (before its restart)`, gone, false);
    }
    node.incarnation = snapshot.incarnation;
    node.version = snapshot.version;
    node.sessions = new Map(snapshot.sessions.map((s) => [s.id, s]));
    node.syncAskedAt = 0;
  }

  private stamp(): PresenceVersion {
    return { nodeId: this.bus.nodeId, incarnation: this.incarnation, version: this.version };
  }

  private nextVersion(): PresenceVersion {
    // Counted even when the bus is down and the message cannot go: receivers then see the gap.
    this.version++;
    return this.stamp();
  }

  private snapshot(leaving: boolean): PresenceSnapshotMessage {
    return { type: 'presence-snapshot', ...this.stamp(), sessions: this.local.presence(), ...(leaving ? { leaving } : {}) };
  }

  private tick(): void {
    this.heartbeat();
    if (!this.bus.connected) return;
    const now = Date.now();
    for (const [nodeId, node] of this.nodes) {
      if (now - Math.max(node.lastSeen, this.upSince) > this.timing.heartbeatTimeoutMs) {
        this.dead(nodeId, [...node.sessions.values()]);
      }
    }
  }

  /** Until the grace period ends, its sessions stay findable for clients that resume elsewhere. */
  private dead(nodeId: string, sessions: PresenceSession[], forget = true): void {
    if (forget) this.nodes.delete(nodeId);
    this.logger.warn(`node ${nodeId} is gone; its ${sessions.length} sessions end in ${this.timing.sessionGraceMs} ms`);
    const earlier = this.departed.get(nodeId);
    if (earlier) clearTimeout(earlier.reap);
    const departed: DepartedNode = {
      sessions: new Map([...(earlier?.sessions ?? []), ...sessions.map((s) => [s.id, s] as const)]),
      reap: setTimeout(() => {
        this.departed.delete(nodeId);
        this.fileReap({ type: 'reap', nodeId, sessions: [...departed.sessions.values()] }, 0);
      }, this.timing.sessionGraceMs),
    };
    this.departed.set(nodeId, departed);
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
      if (this.find(session.id)?.live || this.local.presence().some((s) => s.id === session.id)) continue; // resumed elsewhere
      this.reaped.seen(session.id);
      await this.endHooks.endedRemote(session);
    }
  }

  private heartbeat(): void {
    this.send(BROADCAST, { type: 'heartbeat', ...this.stamp() });
  }

  private send(address: BusAddress, message: PresenceMessage): void {
    if (this.stopped || !this.bus.connected) return;
    this.bus.publish(address, message).catch(() => undefined);
  }
}
