import { Inject, Injectable } from '@nestjs/common';
import { BUS, type Bus } from '../cluster/bus';
import type { SessionMovedMessage } from '../cluster/bus-message';
import { RecentMap } from '../cluster/recent-map';
import { ClusterPresence, type FoundSession } from '../presence/cluster-presence';
import type { Session } from './session';
import { SessionLocator } from './session-locator';
import { SessionRegistry } from './session-registry';

/** The sessions of this node, as routing needs them. */
export interface SessionLookup {
  get(sessionId: string): Session | undefined;
  /** The node a session was handed over to from here, if it was lately. */
  movedTo(sessionId: string): string | undefined;
}

/** Where the sessions of other nodes live, as this node's presence knows. */
export interface SessionDirectory {
  find(sessionId: string): FoundSession | undefined;
  isLive(nodeId: string): boolean;
}

/** Sessions a sender remembers the node of: the one it sent to last, until that node says the session moved on. */
const ROUTE_MEMORY = 10_000;

interface Route {
  nodeId: string;
  /** The last callback sent there. */
  lastId: string;
}

/**
 * The node a callback for one session goes to. A session is not a broker
 * address (connecting costs no binding): its callbacks go to its node's own
 * address, found here, first to last, as this node itself (then delivered
 * without the broker), the node this sender last sent the session's
 * callbacks to, the node presence names, or the one a locate finds. A node
 * that gets a callback for a session it handed over passes it on and says so
 * (SessionMovedMessage); the sender keeps sending to the old node until that
 * word covers the last callback it sent there, so a later callback never
 * overtakes one being passed on: one sender's callbacks reach a session in
 * the order it sent them, across moves.
 */
@Injectable()
export class SessionRoutes {
  private readonly routes = new RecentMap<string, Route>(ROUTE_MEMORY);

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(SessionRegistry) private readonly sessions: SessionLookup,
    private readonly locator: SessionLocator,
    /** Null in an emitter, which has no presence: it asks (locate) instead. */
    @Inject(ClusterPresence) private readonly directory: SessionDirectory | null,
  ) {}

  /** The node holding the session as this node knows without asking; undefined if it does not know. */
  known(sessionId: string): string | undefined {
    if (this.sessions.get(sessionId)) return this.bus.nodeId;
    const route = this.routes.get(sessionId);
    if (!this.directory) return route?.nodeId;
    const found = this.directory.find(sessionId);
    if (!found) return undefined;
    return route && this.directory.isLive(route.nodeId) ? route.nodeId : found.nodeId;
  }

  /** The node holding a session this node does not know of, asking every node; undefined if none does. */
  async locate(sessionId: string): Promise<string | undefined> {
    return (await this.locator.locate(sessionId))?.nodeId;
  }

  /** Where a callback that reached this node for a session it does not hold goes next: where it moved to, or where presence says it lives. */
  onward(sessionId: string): string | undefined {
    const movedTo = this.sessions.movedTo(sessionId);
    const found = movedTo === undefined ? this.directory?.find(sessionId) : undefined;
    const nodeId = movedTo ?? (found?.live ? found.nodeId : undefined);
    return nodeId === this.bus.nodeId ? undefined : nodeId;
  }

  sent(sessionId: string, nodeId: string, id: string): void {
    this.routes.set(sessionId, { nodeId, lastId: id });
  }

  /** A node passed a callback on: send there from now on, if it was the last one sent. Or it had no such session: find it afresh. */
  moved(message: SessionMovedMessage): void {
    const route = this.routes.get(message.sessionId);
    if (!route || route.nodeId !== message.from) return;
    if (message.nodeId === null) this.routes.delete(message.sessionId);
    else if (route.lastId === message.id) this.routes.set(message.sessionId, { nodeId: message.nodeId, lastId: message.id });
  }

  /** Its node is gone: find it afresh next time. */
  forget(sessionId: string): void {
    this.routes.delete(sessionId);
  }
}
