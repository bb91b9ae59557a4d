import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DuplexError } from '@nest-duplex/protocol';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { AmqpBus } from '../cluster/amqp-bus';
import { TopicSubscriptions } from '../presence/topic-subscriptions';
import { CallbackRouter } from '../runtime/callback-router';
import { SessionLocator } from '../runtime/session-locator';
import { type SessionLookup, SessionRoutes } from '../runtime/session-routes';
import { NodeEvents } from '../runtime/node-events';
import { parseCallbackPacket } from './callback-pattern';
import { type DuplexEmitterOptions, resolveEmitterOptions, type ResolvedEmitterOptions } from './emitter-options';

/** A process that is not a node holds no sessions. */
const NO_SESSIONS: SessionLookup = { get: () => undefined, movedTo: () => undefined };

/**
 * A Nest ClientProxy that raises callbacks on the cluster's clients from a
 * process that is not a node (a worker, a cron job, an HTTP service): no
 * sockets, no presence, not counted as a node. It publishes to the cluster's
 * exchange with publisher confirms; a callback to one session goes to the
 * node that holds it, found by asking the nodes (then remembered), so one to
 * a session that lives nowhere is an error (UNAVAILABLE), and a
 * request-reply callback's answer comes back to this process's own inbox.
 *
 * `emit(pattern, args)` completes once the broker confirmed; `send(pattern,
 * args)` yields the client's answer. Patterns: DuplexCallbackPattern. Use it
 * through DuplexEmitterModule (with the typed DuplexEmitter), or in
 * `ClientsModule.register([{ name, customClass: DuplexClientProxy, options }])`
 * (hence Nest's default type parameters). `status` emits 'connected' after
 * each (re)connection to the broker and 'disconnected' once closed.
 */
export class DuplexClientProxy extends ClientProxy implements OnApplicationShutdown {
  private readonly logger = new Logger('DuplexEmitter');
  private readonly options: ResolvedEmitterOptions;
  private connection: Promise<{ bus: AmqpBus; router: CallbackRouter }> | null = null;

  constructor(options: DuplexEmitterOptions = {}) {
    super();
    this.options = resolveEmitterOptions(options);
  }

  /** How long `send` waits for an answer unless its pattern says (ms). */
  get callbackTimeoutMs(): number {
    return this.options.callbackTimeoutMs;
  }

  /** Resolves after the first connection attempt; if it failed, it retries in the background and callbacks meanwhile are UNAVAILABLE. */
  async connect(): Promise<void> {
    await this.connected();
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    const { bus, router } = await connection;
    router.close();
    await bus.close();
    this._status$.next('disconnected');
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  unwrap<T>(): T {
    throw new Error('DuplexClientProxy has no broker connection of its own to unwrap: it speaks through the cluster bus');
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    this.request(packet).then(
      (response) => callback({ response, isDisposed: true }),
      (err: unknown) => callback({ err }),
    );
    return () => undefined;
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const { target, frame } = parseCallbackPacket(packet.pattern, packet.data);
    const { router } = await this.connected();
    if (target.kind === 'session') await router.send(target.sessionId, frame);
    else await router.publish(target.topic, frame);
    return undefined as T;
  }

  private async request(packet: ReadPacket): Promise<unknown> {
    const { target, frame, timeoutMs } = parseCallbackPacket(packet.pattern, packet.data);
    if (target.kind !== 'session') {
      throw new DuplexError('BAD_REQUEST', 'a request-reply callback goes to one session: send() takes pattern.session; emit() reaches users and topics');
    }
    const { router } = await this.connected();
    return router.request(target.sessionId, frame, timeoutMs ?? this.options.callbackTimeoutMs);
  }

  private connected(): Promise<{ bus: AmqpBus; router: CallbackRouter }> {
    this.connection ??= this.open();
    return this.connection;
  }

  private async open(): Promise<{ bus: AmqpBus; router: CallbackRouter }> {
    const { amqp, id } = this.options;
    // Its own inbox for answers; no broadcasts, so presence traffic never reaches it.
    const bus = new AmqpBus({ nodeId: id, urls: amqp.urls, prefix: amqp.prefix, maxBackoffMs: amqp.maxBackoffMs, broadcast: false });
    const locator = new SessionLocator(bus, this.options);
    const routes = new SessionRoutes(bus, NO_SESSIONS, locator, null);
    const router = new CallbackRouter(bus, new TopicSubscriptions(bus), NO_SESSIONS, routes, new NodeEvents());
    await bus.start(
      // Only answers are routed here: to its request-reply callbacks, its locates, and word of sessions that moved.
      (message, address) => {
        if (message.type === 'reply') router.handle(message, address);
        else if (message.type === 'session-located') locator.handle(message);
        else if (message.type === 'session-moved') routes.moved(message);
      },
      () => this._status$.next('connected'),
    );
    this.logger.log(`${id} raises callbacks on the cluster "${amqp.prefix}"`);
    return { bus, router };
  }
}
