import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BUS, type Bus } from '../cluster/bus';
import { nodeAddress } from '../cluster/bus-address';
import type {
  HandedWindow,
  HandoverMessage,
  HandoverRequestMessage,
  SessionLocatedMessage,
  SessionLocateMessage,
} from '../cluster/bus-message';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { ClusterPresence } from '../presence/cluster-presence';
import { SessionRegistry } from './session-registry';

/**
 * The answer to an ask: the window; `moved` if the session had moved on from
 * that node (to `nodeId`); `gone` if the node had no such session; `silent`
 * if it did not answer.
 */
export type HandoverOutcome =
  | { kind: 'handed'; window: HandedWindow }
  | { kind: 'moved'; nodeId: string }
  | { kind: 'gone' }
  | { kind: 'refused' }
  | { kind: 'silent' };

/**
 * Moves a session's replay window between live nodes when its client
 * resumes elsewhere. The new node registers the session first and holds what
 * arrives, then asks the old node (on its node address); the old node lets
 * the session go and answers with the callbacks the client has not seen.
 * What reaches the old node for the session before its answer is in the
 * window; what reaches it after, it passes on to the new node (the router),
 * so between the two nothing is missed; what both received is told apart by
 * message id.
 */
@Injectable()
export class SessionHandover {
  private readonly logger = new Logger(SessionHandover.name);
  /** Questions sent and not yet answered, by correlation id. */
  private readonly waiting = new Map<string, (answer: HandoverOutcome) => void>();

  /** How long to wait for the old node: past it, the node is taken as dead. */
  private readonly timeoutMs: number;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly presence: ClusterPresence,
    @Inject(DUPLEX_OPTIONS) options: Pick<ResolvedDuplexOptions, 'heartbeatTimeoutMs'>,
  ) {
    this.timeoutMs = options.heartbeatTimeoutMs;
  }

  /** Asks the session's node (mandatory on its address) to hand it over; `silent` if it cannot be reached or does not answer in time. */
  ask(nodeId: string, sessionId: string, lastSeq: number, generation: number): Promise<HandoverOutcome> {
    const correlationId = randomUUID();
    return new Promise<HandoverOutcome>((resolve) => {
      const timer = setTimeout(() => this.settle(correlationId, { kind: 'silent' }), this.timeoutMs);
      this.waiting.set(correlationId, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      const request: HandoverRequestMessage = { type: 'handover-request', nodeId: this.bus.nodeId, correlationId, sessionId, lastSeq, generation };
      this.bus.publish(nodeAddress(nodeId), request, { mandatory: true }).catch(() => this.settle(correlationId, { kind: 'silent' }));
    });
  }

  /**
   * A locate (SessionLocator) reached this node: the session if it lives here
   * (once a move of it here is done), else no, with how many live nodes this
   * one knows, so the asker need not wait for its timeout.
   */
  async located(request: SessionLocateMessage): Promise<void> {
    await this.sessions.arrival(request.sessionId);
    const session = this.sessions.get(request.sessionId);
    const reply: SessionLocatedMessage = {
      type: 'session-located',
      correlationId: request.correlationId,
      nodeId: this.bus.nodeId,
      session: session && !session.ended ? session.presence() : null,
      nodes: this.presence.liveNodes().length,
    };
    this.bus.publish(nodeAddress(request.nodeId), reply).catch(() => undefined);
  }

  /** On the old node: give the session up and answer with its window (once a move of it here, if one runs, is done). */
  async answer(request: HandoverRequestMessage): Promise<void> {
    await this.sessions.arrival(request.sessionId);
    const handed = this.sessions.handOver(request.sessionId, request.lastSeq, request.generation, request.nodeId);
    const window = handed === 'refused' ? null : handed;
    // Not here any more: if it moved on, say where, since the asker's presence may not know yet.
    const movedTo = handed === null ? this.sessions.movedTo(request.sessionId) : undefined;
    const reply: HandoverMessage = {
      type: 'handover',
      correlationId: request.correlationId,
      ...window,
      ...(movedTo ? { movedTo } : {}),
      ...(handed === 'refused' ? { refused: true } : {}),
    };
    if (window) this.logger.log(`session ${request.sessionId} moves to ${request.nodeId} with ${window.frames.length} callbacks`);
    if (handed === 'refused') this.logger.warn(`session ${request.sessionId} stays: ${request.nodeId} presented a resume token it had used`);
    this.bus.publish(nodeAddress(request.nodeId), reply).catch((error: unknown) => {
      // The asker times out and tells its client the gap is unknown.
      this.logger.warn(`handover of ${request.sessionId} to ${request.nodeId} lost: ${(error as Error).message}`);
    });
  }

  /** On the new node: the old node's answer. */
  handle(message: HandoverMessage): void {
    if (message.movedTo) return this.settle(message.correlationId, { kind: 'moved', nodeId: message.movedTo });
    if (message.refused) return this.settle(message.correlationId, { kind: 'refused' });
    const outcome: HandoverOutcome =
      message.frames && message.lastSeq !== undefined && message.token
        ? {
            kind: 'handed',
            window: {
              frames: message.frames,
              lastSeq: message.lastSeq,
              outcomes: message.outcomes ?? [],
              gapUnknown: message.gapUnknown,
              token: message.token,
              moves: message.moves,
            },
          }
        : { kind: 'gone' };
    this.settle(message.correlationId, outcome);
  }

  private settle(correlationId: string, answer: HandoverOutcome): void {
    const resolve = this.waiting.get(correlationId);
    if (!resolve) return; // already answered, or timed out
    this.waiting.delete(correlationId);
    resolve(answer);
  }
}
