import { type CallbackDefinition, type CallbackProxy, type ContractDefinition, DuplexError, type TopicProxy } from '@nest-duplex/protocol';
import { checkTopic, userTopic } from '../presence/user-topic';
import type { CallbackSender } from './callback-sender';

/**
 * A contract's typed callbacks to clients addressed from anywhere: one
 * session by id, every session of a user, every subscriber of a topic. A
 * node's services get more (CallbackHub); a worker gets these.
 */
export class CallbackChannels<C extends ContractDefinition> {
  constructor(
    protected readonly contract: C,
    protected readonly sender: CallbackSender,
    private readonly defaultTimeoutMs: number,
  ) {}

  session(sessionId: string): CallbackProxy<C> {
    return this.proxy((name, definition, args) => {
      const frame = { service: this.contract.name, method: name, args };
      if (definition.oneWay) return this.sender.send(sessionId, frame);
      return this.sender.request(sessionId, frame, this.timeoutOf(definition)).then((result) => this.checkAnswer(name, definition, result));
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

  protected fanOut(topic: string, exceptSessionId: string | undefined): TopicProxy<C> {
    return this.proxy((name, definition, args) => {
      if (!definition.oneWay) {
        throw new DuplexError('INTERNAL', `${this.contract.name}.${name} is request-reply and cannot go to a topic: gather it`);
      }
      return this.sender.publish(topic, { service: this.contract.name, method: name, args }, exceptSessionId);
    }) as TopicProxy<C>;
  }

  protected proxy(invoke: (name: string, definition: CallbackDefinition, args: unknown[]) => Promise<unknown>) {
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

  protected timeoutOf(definition: CallbackDefinition): number {
    return definition.timeoutMs ?? this.defaultTimeoutMs;
  }

  protected checkAnswer(name: string, definition: CallbackDefinition, result: unknown): unknown {
    const parsed = definition.result.safeParse(result);
    if (!parsed.success) {
      throw new DuplexError('BAD_REQUEST', `client answered ${this.contract.name}.${name} with an invalid result`);
    }
    return parsed.data;
  }
}
