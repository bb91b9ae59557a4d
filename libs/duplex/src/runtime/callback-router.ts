import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Bus } from '../cluster/bus';
import { BusAddress, nodeAddress, routingKey, sessionAddress, topicAddress } from '../cluster/bus-address';
import type { CallbackMessage, ReplyMessage } from '../cluster/bus-message';
import type { TopicSubscriptions } from '../presence/topic-subscriptions';
import { Ack, CallbackFrame, DuplexError } from '@nest-duplex/protocol';
import { BusUnavailableError } from '../cluster/bus-unavailable.error';
import { derivedId, isDerivedId } from '../state/idempotency-scope';
import { OUTAGE_WAIT_MS } from '../state/replicated-store';
import { toDuplexError } from './error-mapping';
import type { NodeObserver } from './node-events';
import { RecentIds } from '../cluster/recent-ids';
import type { CallbackSender } from './callback-sender';
import type { HeldFrame, Session } from './session';

/** How many callbacks raised by calls a node remembers: a rerun comes within seconds of the first run. */
const RECENT_CALL_CALLBACKS = 50_000;

/** The sessions of this node, as the router needs them. */
export interface SessionLookup {
  get(sessionId: string): Session | undefined;
  /** Handed over to another node lately: a message for it still arriving here is that node's to answer. */
  movedAway(sessionId: string): boolean;
}

interface PendingReply {
  resolve(result: unknown): void;
  reject(error: DuplexError): void;
  timer: NodeJS.Timeout;
}

/**
 * Moves callbacks between the services and the sessions, always through the
 * bus, so a session on this node and one on another are reached the same way.
 * Request-reply callbacks are answered to the origin node, which owns the
 * timeout.
 */
export class CallbackRouter implements CallbackSender {
  private readonly logger = new Logger(CallbackRouter.name);
  private readonly pending = new Map<string, PendingReply>();
  /** Ids of the one-way callbacks this node publishes: unique per process, so per cluster. */
  private readonly idPrefix = `${randomUUID().slice(0, 8)}:`;
  private published = 0;
  /** Callbacks raised by calls (ids derived from the call): a resent call that ran again raises them again. */
  private readonly delivered = new RecentIds(RECENT_CALL_CALLBACKS);

  constructor(
    private readonly bus: Bus,
    private readonly subscriptions: TopicSubscriptions,
    private readonly sessions: SessionLookup,
    private readonly events: NodeObserver,
    private readonly outage = { waitMs: OUTAGE_WAIT_MS, retryDelayMs: 250 },
  ) {}

  /** One-way: resolves once the bus took the message. UNAVAILABLE if no node holds the session. */
  send(sessionId: string, frame: CallbackFrame): Promise<void> {
    const address = sessionAddress(sessionId);
    const message: CallbackMessage = { type: 'callback', id: this.nextId(address, frame), ...frame };
    return this.reported(frame, this.deliver(address, message, true));
  }

  /** Request-reply: resolves with the client's result; rejects with its error, UNAVAILABLE or TIMEOUT. */
  request(sessionId: string, frame: CallbackFrame, timeoutMs: number): Promise<unknown> {
    return this.reported(frame, this.requestOnce(sessionId, frame, timeoutMs));
  }

  publish(topic: string, frame: CallbackFrame, exceptSessionId?: string): Promise<void> {
    const address = topicAddress(topic);
    return this.reported(frame, this.deliver(address, { type: 'callback', id: this.nextId(address, frame), ...frame, exceptSessionId }, false));
  }

  /**
   * A callback raised by a call (its id derived from the call) waits out a bus outage the way the
   * call's writes do, so a call that changed state also announces it, or ends in TIMEOUT (it may
   * have): sending it again is safe, a node drops a derived id it delivered. Any other callback
   * fails fast, since a second copy of it could not be told from the first.
   */
  private async deliver(address: BusAddress, message: CallbackMessage, mandatory: boolean): Promise<void> {
    const deadline = performance.now() + this.outage.waitMs;
    for (;;) {
      try {
        return await this.bus.publish(address, message, { mandatory });
      } catch (error) {
        const waiting = error instanceof BusUnavailableError && message.id !== undefined && isDerivedId(message.id);
        if (!waiting) throw error;
        if (performance.now() + this.outage.retryDelayMs > deadline) {
          throw new DuplexError('TIMEOUT', `callback ${message.service}.${message.method} not taken by the bus within ${this.outage.waitMs} ms; it may still be delivered`);
        }
        await new Promise((resolve) => setTimeout(resolve, this.outage.retryDelayMs));
      }
    }
  }

  /** Inside a call with an id, named after the call and the callback (so a rerun raises the same ids); else unique to this process. */
  private nextId(address: BusAddress, frame: CallbackFrame): string {
    const named = derivedId(() => `cb:${routingKey(address)}:${frame.service}.${frame.method}:${JSON.stringify(frame.args)}`);
    return named ?? this.idPrefix + ++this.published;
  }

  /** Callbacks a session brought along when it moved here: a rerun of their call must not deliver them again. */
  remember(ids: Iterable<string | undefined>): void {
    for (const id of ids) if (id !== undefined && isDerivedId(id)) this.delivered.seen(id);
  }

  private reported<T>(frame: CallbackFrame, outcome: Promise<T>): Promise<T> {
    return outcome.then(
      (value) => {
        this.events.callback(frame.service, frame.method, 'ok');
        return value;
      },
      (error: unknown) => {
        this.events.callback(frame.service, frame.method, toDuplexError(error).code);
        throw error;
      },
    );
  }

  private requestOnce(sessionId: string, frame: CallbackFrame, timeoutMs: number): Promise<unknown> {
    const correlationId = randomUUID();
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new DuplexError('TIMEOUT', `${frame.service}.${frame.method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      // The correlation id doubles as the message id: a delivery the broker repeats is not asked twice.
      const message: CallbackMessage = {
        type: 'callback',
        id: correlationId,
        ...frame,
        reply: { nodeId: this.bus.nodeId, correlationId, timeoutMs },
      };
      this.bus.publish(sessionAddress(sessionId), message, { mandatory: true }).catch((error: unknown) => {
        this.settle({ type: 'reply', correlationId, ok: false, error: toDuplexError(error).toWire() });
      });
    });
  }

  /** Everything the bus delivers to this node comes through here. */
  handle(message: CallbackMessage | ReplyMessage, address: BusAddress): void {
    if (message.type === 'reply') return this.settle(message);
    if (message.id !== undefined && isDerivedId(message.id) && this.delivered.seen(message.id)) return; // raised again by a rerun
    if (address.kind === 'topic') {
      const frame: HeldFrame = { service: message.service, method: message.method, args: message.args, id: message.id };
      for (const sessionId of this.subscriptions.local(address.topic)) {
        if (sessionId !== message.exceptSessionId) this.sessions.get(sessionId)?.send(frame);
      }
      return;
    }
    if (address.kind !== 'session') return;
    const session = this.sessions.get(address.sessionId);
    if (!session) {
      // Ended between routing and delivery, unless it moved: then its new node, bound too, answers.
      if (message.reply && !this.sessions.movedAway(address.sessionId)) {
        this.answer(message, { ok: false, error: { code: 'UNAVAILABLE', message: 'session ended' } });
      }
      return;
    }
    if (!message.reply) return session.send({ service: message.service, method: message.method, args: message.args, id: message.id });
    const frame: CallbackFrame = { service: message.service, method: message.method, args: message.args };
    void session.request(frame, message.reply.timeoutMs).then((ack) => this.answer(message, ack));
  }

  /** Rejects every pending request-reply callback: the node is going away. */
  close(): void {
    for (const [correlationId] of this.pending) {
      this.settle({ type: 'reply', correlationId, ok: false, error: { code: 'UNAVAILABLE', message: 'node is shutting down' } });
    }
  }

  private answer(message: CallbackMessage, ack: Ack): void {
    const { nodeId, correlationId } = message.reply!;
    const reply: ReplyMessage = ack.ok
      ? { type: 'reply', correlationId, ok: true, result: ack.result }
      : { type: 'reply', correlationId, ok: false, error: ack.error };
    this.bus.publish(nodeAddress(nodeId), reply).catch((error: unknown) => {
      // The origin times the callback out; nothing more can be done here.
      this.logger.warn(`reply to ${nodeId} lost: ${(error as Error).message}`);
    });
  }

  private settle(reply: ReplyMessage): void {
    const pending = this.pending.get(reply.correlationId);
    if (!pending) return; // already timed out
    this.pending.delete(reply.correlationId);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(DuplexError.fromWire(reply.error));
  }
}
