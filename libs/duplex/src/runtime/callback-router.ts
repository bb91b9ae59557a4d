import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Bus } from '../cluster/bus';
import { BusAddress, nodeAddress, topicAddress } from '../cluster/bus-address';
import type { CallbackMessage, ReplyMessage, SessionMovedMessage, SessionRoute } from '../cluster/bus-message';
import type { TopicSubscriptions } from '../presence/topic-subscriptions';
import { Ack, CallbackFrame, DuplexError } from '@nest-duplex/protocol';
import { BusUnavailableError } from '../cluster/bus-unavailable.error';
import { NoRouteError } from '../cluster/no-route.error';
import { derivedId, isDerivedId } from '../state/idempotency-scope';
import { OUTAGE_WAIT_MS } from '../state/replicated-store';
import { toDuplexError } from './error-mapping';
import type { NodeObserver } from './node-events';
import { RecentIds } from '../cluster/recent-ids';
import type { CallbackSender } from './callback-sender';
import type { HeldFrame } from './session';
import type { SessionLookup, SessionRoutes } from './session-routes';

/** How many callbacks raised by calls a node remembers: a rerun comes within seconds of the first run. */
const RECENT_CALL_CALLBACKS = 50_000;

/** How many nodes may pass a callback on to a session that keeps moving: past it, the session is taken as gone. */
const MAX_HOPS = 3;

interface PendingReply {
  resolve(result: unknown): void;
  reject(error: DuplexError): void;
  timer: NodeJS.Timeout;
}

/**
 * Moves callbacks between the services and the sessions. A session or topic
 * subscriber on this node gets its callback at once; the others through the
 * bus: a callback for one session to its node's address (SessionRoutes), one
 * for a topic to the topic's. Request-reply callbacks are answered to the
 * origin node, which owns the timeout.
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
    private readonly routes: SessionRoutes,
    private readonly events: NodeObserver,
    private readonly outage = { waitMs: OUTAGE_WAIT_MS, retryDelayMs: 250 },
  ) {}

  /** One-way: resolves once the session (here) or the bus (for its node) took it. UNAVAILABLE if no node holds the session. */
  send(sessionId: string, frame: CallbackFrame): Promise<void> {
    const message: CallbackMessage & { id: string } = { type: 'callback', id: this.nextId(`session.${sessionId}`, frame), ...frame };
    return this.reported(frame, this.toSession(sessionId, message));
  }

  /** Request-reply: resolves with the client's result; rejects with its error, UNAVAILABLE or TIMEOUT. */
  request(sessionId: string, frame: CallbackFrame, timeoutMs: number): Promise<unknown> {
    return this.reported(frame, this.requestOnce(sessionId, frame, timeoutMs));
  }

  /**
   * To the topic's subscribers on this node at once, and through the broker to
   * those on other nodes. Delivered here only while the broker is connected
   * (or when it waits for the broker, raised by a call), so a publish refused
   * at once with UNAVAILABLE reached nobody; one the broker fails to confirm
   * reached this node's subscribers.
   */
  publish(topic: string, frame: CallbackFrame, exceptSessionId?: string): Promise<void> {
    const message: CallbackMessage = { type: 'callback', id: this.nextId(`topic.${topic}`, frame), ...frame, exceptSessionId, origin: this.bus.nodeId };
    if (this.bus.connected || isDerivedId(message.id!)) this.receive(message, topic);
    return this.reported(frame, this.deliver(topicAddress(topic), message, false));
  }

  /** To the session's node (here: at once, without the broker); its routes learn where it went. */
  private toSession(sessionId: string, message: CallbackMessage & { id: string }): Promise<void> {
    const nodeId = this.routes.known(sessionId);
    message.to = { sessionId, from: this.bus.nodeId, hops: 0 };
    if (nodeId === this.bus.nodeId) {
      this.receive(message);
      return Promise.resolve();
    }
    if (nodeId !== undefined) return this.toNode(nodeId, sessionId, message);
    return this.routes.locate(sessionId).then((found) => {
      if (found === undefined) throw new DuplexError('UNAVAILABLE', `no node holds session ${sessionId}`);
      return found === this.bus.nodeId ? this.receive(message) : this.toNode(found, sessionId, message);
    });
  }

  private async toNode(nodeId: string, sessionId: string, message: CallbackMessage & { id: string }): Promise<void> {
    this.routes.sent(sessionId, nodeId, message.id);
    try {
      await this.deliver(nodeAddress(nodeId), message, true);
    } catch (error) {
      if (!(error instanceof NoRouteError)) throw error;
      this.routes.forget(sessionId);
      throw new DuplexError('UNAVAILABLE', `session ${sessionId}'s node ${nodeId} is gone`);
    }
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
  private nextId(target: string, frame: CallbackFrame): string {
    const named = derivedId(() => `cb:${target}:${frame.service}.${frame.method}:${JSON.stringify(frame.args)}`);
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
      const message: CallbackMessage & { id: string } = {
        type: 'callback',
        id: correlationId,
        ...frame,
        reply: { nodeId: this.bus.nodeId, correlationId, timeoutMs },
      };
      this.toSession(sessionId, message).catch((error: unknown) => {
        this.settle({ type: 'reply', correlationId, ok: false, error: toDuplexError(error).toWire() });
      });
    });
  }

  /** Everything the bus delivers to this node comes through here. */
  handle(message: CallbackMessage | ReplyMessage, address: BusAddress): void {
    if (message.type === 'reply') return this.settle(message);
    if (address.kind === 'topic' && message.origin === this.bus.nodeId) return; // delivered here when published
    this.receive(message, address.kind === 'topic' ? address.topic : undefined);
  }

  /** A callback for this node's sessions, from the broker or raised here: for the topic's subscribers, or for one session. */
  private receive(message: CallbackMessage, topic?: string): void {
    if (message.id !== undefined && isDerivedId(message.id) && this.delivered.seen(message.id)) return; // raised again by a rerun
    if (topic !== undefined) {
      const frame: HeldFrame = { service: message.service, method: message.method, args: message.args, id: message.id };
      for (const sessionId of this.subscriptions.local(topic)) {
        if (sessionId !== message.exceptSessionId) this.sessions.get(sessionId)?.send(frame);
      }
      return;
    }
    if (message.to) this.arrived(message, message.to);
  }

  /** A callback for one session reached this node: delivered if the session is here, else passed on to where it went. */
  private arrived(message: CallbackMessage, route: SessionRoute): void {
    const session = this.sessions.get(route.sessionId);
    if (session) {
      if (!message.reply) return session.send({ service: message.service, method: message.method, args: message.args, id: message.id });
      const frame: CallbackFrame = { service: message.service, method: message.method, args: message.args };
      void session.request(frame, message.reply.timeoutMs).then((ack) => this.answer(message, ack));
      return;
    }
    const next = route.hops < MAX_HOPS ? this.routes.onward(route.sessionId) : undefined;
    if (next === undefined) {
      // It ended between routing and delivery: a request is answered; the sender stops sending here.
      if (message.reply) this.answer(message, { ok: false, error: { code: 'UNAVAILABLE', message: `session ${route.sessionId} ended` } });
      return this.tellSender(message, route, null);
    }
    this.bus.publish(nodeAddress(next), { ...message, to: { ...route, hops: route.hops + 1 } }, { mandatory: true }).then(
      () => this.tellSender(message, route, next),
      (error: unknown) => {
        if (message.reply) this.answer(message, { ok: false, error: toDuplexError(error).toWire() });
        else this.logger.warn(`callback ${message.service}.${message.method} for session ${route.sessionId} could not be passed on to ${next}: ${(error as Error).message}`);
      },
    );
  }

  /** Where the session went (null: nowhere), so the sender's next callback goes there; best effort, as sending here still works. */
  private tellSender(message: CallbackMessage, route: SessionRoute, nodeId: string | null): void {
    if (message.id === undefined || route.from === this.bus.nodeId) return;
    const moved: SessionMovedMessage = { type: 'session-moved', sessionId: route.sessionId, from: this.bus.nodeId, nodeId, id: message.id };
    this.bus.publish(nodeAddress(route.from), moved).catch(() => undefined);
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
    if (nodeId === this.bus.nodeId) return this.settle(reply);
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
