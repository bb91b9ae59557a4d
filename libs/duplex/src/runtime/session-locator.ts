import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BUS, type Bus } from '../cluster/bus';
import { BROADCAST } from '../cluster/bus-address';
import type { SessionLocatedMessage } from '../cluster/bus-message';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import type { FoundSession } from '../presence/cluster-presence';

interface Asking {
  resolve(found: FoundSession | undefined): void;
  timer: NodeJS.Timeout;
  /** Nodes that said no, and the most live nodes any answer counted. */
  noes: number;
  nodes: number;
}

/**
 * Finds the node that holds a session presence does not know of (yet): asks
 * every node at once, and settles on the holder's answer, or on "nowhere"
 * once as many nodes as the answers count have said no, or at the timeout.
 * Used by nodes (a fast mover's resume) and by emitters, which have no
 * presence of their own.
 */
@Injectable()
export class SessionLocator {
  private readonly asking = new Map<string, Asking>();
  private readonly timeoutMs: number;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(DUPLEX_OPTIONS) options: Pick<ResolvedDuplexOptions, 'heartbeatTimeoutMs'>,
  ) {
    this.timeoutMs = options.heartbeatTimeoutMs;
  }

  /** Where the session lives; undefined if no node holds it, or none answers in time. */
  locate(sessionId: string): Promise<FoundSession | undefined> {
    const correlationId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(correlationId, undefined), this.timeoutMs);
      this.asking.set(correlationId, { resolve, timer, noes: 0, nodes: Number.POSITIVE_INFINITY });
      this.bus
        .publish(BROADCAST, { type: 'session-locate', nodeId: this.bus.nodeId, correlationId, sessionId })
        .catch(() => this.settle(correlationId, undefined));
    });
  }

  /** A node's answer. */
  handle(message: SessionLocatedMessage): void {
    const asking = this.asking.get(message.correlationId);
    if (!asking) return; // settled already
    if (message.session) return this.settle(message.correlationId, { session: message.session, nodeId: message.nodeId, live: true });
    asking.noes++;
    asking.nodes = asking.noes === 1 ? message.nodes : Math.max(asking.nodes, message.nodes);
    if (asking.noes >= asking.nodes) this.settle(message.correlationId, undefined);
  }

  private settle(correlationId: string, found: FoundSession | undefined): void {
    const asking = this.asking.get(correlationId);
    if (!asking) return;
    this.asking.delete(correlationId);
    clearTimeout(asking.timer);
    asking.resolve(found);
  }
}
