import { type CallbackDefinition, type CallbackProxy, type ContractDefinition, DuplexError, type TopicProxy } from '@nest-duplex/protocol';
import { checkTopic, userTopic } from '../presence/user-topic';
import { currentSession } from './call-context';
import type { CallbackRouter } from './callback-router';

/**
 * A service's typed handle on its clients: the caller (WCF's
 * GetCallbackChannel), any session by id, every session of a user, or every
 * subscriber of a topic.
 */
export class CallbackHub<C extends ContractDefinition> {
  constructor(
    private readonly contract: C,
    private readonly router: CallbackRouter,
    private readonly defaultTimeoutMs: number,
  ) {}

  /** The session whose operation (or end hook) is running. */
  caller(): CallbackProxy<C> {
    return this.session(currentSession().id);
  }

  session(sessionId: string): CallbackProxy<C> {
    return this.proxy((name, definition, args) => {
      const frame = { service: this.contract.name, method: name, args };
      if (definition.oneWay) return this.router.send(sessionId, frame);
      return this.router
        .request(sessionId, frame, definition.timeoutMs ?? this.defaultTimeoutMs)
        .then((result) => this.checkAnswer(name, definition, result));
    }) as CallbackProxy<C>;
  }

  /** Every subscriber of `topic`, on every node. */
  topic(topic: string): TopicProxy<C> {
    checkTopic(topic);
    return this.fanOut(topic, undefined);
  }

  /** Every session of a user (see userIdOf), on every node, each once. */
  user(userId: string): TopicProxy<C> {
    return this.fanOut(userTopic(userId), undefined);
  }

  /** Every subscriber of `topic` except the caller. */
  others(topic: string): TopicProxy<C> {
    checkTopic(topic);
    return this.fanOut(topic, currentSession().id);
  }

  private fanOut(topic: string, exceptSessionId: string | undefined): TopicProxy<C> {
    return this.proxy((name, definition, args) => {
      if (!definition.oneWay) {
        throw new DuplexError('INTERNAL', `${this.contract.name}.${name} is request-reply and cannot go to a topic`);
      }
      return this.router.publish(topic, { service: this.contract.name, method: name, args }, exceptSessionId);
    }) as TopicProxy<C>;
  }

  private proxy(invoke: (name: string, definition: CallbackDefinition, args: unknown[]) => Promise<unknown>) {
    const proxy: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [name, definition] of Object.entries(this.contract.callbacks)) {
      proxy[name] = async (...args) => {
        // The service's own bug: fail loudly on this side, never send a bad frame.
        const parsed = definition.args.safeParse(args);
        if (!parsed.success) {
          throw new DuplexError('INTERNAL', `${this.contract.name}.${name} called back with bad arguments`);
        }
        return invoke(name, definition, parsed.data as unknown[]);
      };
    }
    return proxy;
  }

  private checkAnswer(name: string, definition: CallbackDefinition, result: unknown): unknown {
    const parsed = definition.result.safeParse(result);
    if (!parsed.success) {
      throw new DuplexError('BAD_REQUEST', `client answered ${this.contract.name}.${name} with an invalid result`);
    }
    return parsed.data;
  }
}
