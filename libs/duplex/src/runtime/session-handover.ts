import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BUS, type Bus } from '../cluster/bus';
import { type BusAddress, nodeAddress, sessionAddress } from '../cluster/bus-address';
import type {
  BusMessage,
  HandedWindow,
  HandoverMessage,
  HandoverRequestMessage,
  SessionLocatedMessage,
  SessionLocateMessage,
} from '../cluster/bus-message';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import type { FoundSession } from '../presence/cluster-presence';
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
 * resumes elsewhere. The new node binds the session first and holds what
 * arrives, then asks the old node (on its node address); the old node lets
 * the session go and answers with the callbacks the client has not seen.
 * Anything published before the new node's binding went to the old node's
 * inbox ahead of the ask, so between the two nothing is missed; what both
 * received is told apart by message id.
 */
@Injectable()
export class SessionHandover {
  private readonly logger = new Logger(SessionHandover.name);
  /** Questions sent and not yet answered, by correlation id. */
  private readonly waiting = new Map<string, (answer: unknown) => void>();

  /** How long to wait for the old node: past it, the node is taken as dead. */
  private readonly timeoutMs: number;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    @Inject(DUPLEX_OPTIONS) options: Pick<ResolvedDuplexOptions, 'heartbeatTimeoutMs'>,
  ) {
    this.timeoutMs = options.heartbeatTimeoutMs;
  }

  ask(nodeId: string, sessionId: string, lastSeq: number, generation: number): Promise<HandoverOutcome> {
    return this.question<HandoverOutcome>(
      nodeAddress(nodeId),
      (correlationId) => ({ type: 'handover-request', nodeId: this.bus.nodeId, correlationId, sessionId, lastSeq, generation }),
      { kind: 'silent' },
    );
  }

  /**
   * Where a session lives, asked of the session's own address: for a session
   * presence does not know of (yet). Undefined if no node holds it, or none
   * answers in time.
   */
  locate(sessionId: string): Promise<FoundSession | undefined> {
    // Mandatory: if no node is bound to it, the session is nowhere, and the answer is at once.
    return this.question<FoundSession | undefined>(
      sessionAddress(sessionId),
      (correlationId) => ({ type: 'session-locate', nodeId: this.bus.nodeId, correlationId, sessionId }),
      undefined,
    );
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
    this.settle(message.correlationId, { session: message.session, nodeId: message.nodeId, live: true } satisfies FoundSession);
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
            window: { frames: message.frames, lastSeq: message.lastSeq, outcomes: message.outcomes ?? [], gapUnknown: message.gapUnknown, token: message.token },
          }
        : { kind: 'gone' };
    this.settle(message.correlationId, outcome);
  }

  /**
   * Publishes a question (mandatory) and resolves with its answer, or with
   * `unanswered` when it cannot be routed or nobody answers in time.
   */
  private question<T>(address: BusAddress, message: (correlationId: string) => BusMessage, unanswered: T): Promise<T> {
    const correlationId = randomUUID();
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => this.settle(correlationId, unanswered), this.timeoutMs);
      this.waiting.set(correlationId, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.bus.publish(address, message(correlationId), { mandatory: true }).catch(() => this.settle(correlationId, unanswered));
    });
  }

  private settle(correlationId: string, answer: unknown): void {
    const resolve = this.waiting.get(correlationId);
    if (!resolve) return; // already answered, or timed out
    this.waiting.delete(correlationId);
    resolve(answer);
  }
}
