import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Bus } from '../cluster/bus';
import { nodeAddress, sessionAddress } from '../cluster/bus-address';
import type {
  HandedWindow,
  HandoverMessage,
  HandoverRequestMessage,
  SessionLocatedMessage,
  SessionLocateMessage,
} from '../cluster/bus-message';
import type { FoundSession } from '../presence/cluster-presence';
import type { SessionRegistry } from './session-registry';

/**
 * The answer to an ask: the window; `moved` if the session had moved on from
 * that node (to `nodeId`); `gone` if the node had no such session; `silent`
 * if it did not answer.
 */
export type HandoverOutcome =
  | { kind: 'handed'; window: HandedWindow }
  | { kind: 'moved'; nodeId: string }
  | { kind: 'gone' }
  | { kind: 'silent' };

/**
 * Moves a session's replay window between live nodes when its client
 * resumes elsewhere. The new node binds the session first and holds what
 * arrives, then asks the old node (on its node address); the old node lets
 * the session go and answers with the callbacks the client has not seen.
 * Anything published before the new node's binding went to the old node's
 * inbox ahead of the ask, so between the two nothing is missed; what both
 * received is told apart by message id.
 */
export class SessionHandover {
  private readonly logger = new Logger(SessionHandover.name);
  private readonly asks = new Map<string, (outcome: HandoverOutcome) => void>();
  private readonly locating = new Map<string, (found: FoundSession | undefined) => void>();

  constructor(
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    /** How long to wait for the old node: past it, the node is taken as dead. */
    private readonly timeoutMs: number,
  ) {}

  ask(nodeId: string, sessionId: string, lastSeq: number): Promise<HandoverOutcome> {
    const correlationId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(correlationId, { kind: 'silent' }), this.timeoutMs);
      this.asks.set(correlationId, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      const request: HandoverRequestMessage = { type: 'handover-request', nodeId: this.bus.nodeId, correlationId, sessionId, lastSeq };
      this.bus.publish(nodeAddress(nodeId), request, { mandatory: true }).catch(() => this.settle(correlationId, { kind: 'silent' }));
    });
  }

  /**
   * Where a session lives, asked of the session's own address: for a session
   * presence does not know of (yet). Undefined if no node holds it, or none
   * answers in time.
   */
  locate(sessionId: string): Promise<FoundSession | undefined> {
    const correlationId = randomUUID();
    return new Promise((resolve) => {
      const done = (found: FoundSession | undefined) => {
        clearTimeout(timer);
        this.locating.delete(correlationId);
        resolve(found);
      };
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      this.locating.set(correlationId, done);
      const request: SessionLocateMessage = { type: 'session-locate', nodeId: this.bus.nodeId, correlationId, sessionId };
      // Mandatory: if no node is bound to it, the session is nowhere, and the answer is at once.
      this.bus.publish(sessionAddress(sessionId), request, { mandatory: true }).catch(() => done(undefined));
    });
  }

  /** On the node a locate reached: answer if the session lives here (once a move of it here is done). */
  async located(request: SessionLocateMessage): Promise<void> {
    await this.sessions.arrival(request.sessionId);
    const session = this.sessions.get(request.sessionId);
    if (!session || session.ended) return;
    const reply: SessionLocatedMessage = { type: 'session-located', correlationId: request.correlationId, nodeId: this.bus.nodeId, session: session.presence() };
    this.bus.publish(nodeAddress(request.nodeId), reply).catch(() => undefined);
  }

  /** On the asker: where it lives. */
  handleLocated(message: SessionLocatedMessage): void {
    this.locating.get(message.correlationId)?.({ session: message.session, nodeId: message.nodeId, live: true });
  }

  /** On the old node: give the session up and answer with its window (once a move of it here, if one runs, is done). */
  async answer(request: HandoverRequestMessage): Promise<void> {
    await this.sessions.arrival(request.sessionId);
    const window = this.sessions.handOver(request.sessionId, request.lastSeq, request.nodeId);
    // Not here any more: if it moved on, say where, since the asker's presence may not know yet.
    const movedTo = window ? undefined : this.sessions.movedTo(request.sessionId);
    const reply: HandoverMessage = { type: 'handover', correlationId: request.correlationId, ...window, ...(movedTo ? { movedTo } : {}) };
    if (window) this.logger.log(`session ${request.sessionId} moves to ${request.nodeId} with ${window.frames.length} callbacks`);
    this.bus.publish(nodeAddress(request.nodeId), reply).catch((error: unknown) => {
      // The asker times out and tells its client the gap is unknown.
      this.logger.warn(`handover of ${request.sessionId} to ${request.nodeId} lost: ${(error as Error).message}`);
    });
  }

  /** On the new node: the old node's answer. */
  handle(message: HandoverMessage): void {
    if (message.movedTo) return this.settle(message.correlationId, { kind: 'moved', nodeId: message.movedTo });
    const outcome: HandoverOutcome =
      message.frames && message.lastSeq !== undefined
        ? {
            kind: 'handed',
            window: { frames: message.frames, lastSeq: message.lastSeq, outcomes: message.outcomes ?? [], gapUnknown: message.gapUnknown },
          }
        : { kind: 'gone' };
    this.settle(message.correlationId, outcome);
  }

  private settle(correlationId: string, outcome: HandoverOutcome): void {
    const resolve = this.asks.get(correlationId);
    if (!resolve) return; // already timed out
    this.asks.delete(correlationId);
    resolve(outcome);
  }
}
