import { type CallbackProxy, type ContractDefinition, DuplexError, type GatherAnswer, type GatherProxy, type TopicProxy } from '@nest-duplex/protocol';
import type { SessionInfo } from '../contracts/session-info';
import { checkTopic, userTopic } from '../presence/user-topic';
import { currentSession } from './call-context';
import { CallbackChannels } from './callback-channels';
import type { CallbackSender } from './callback-sender';
import { toDuplexError } from './error-mapping';

/** Who subscribes to a topic, on every node, as presence knows it. */
export interface TopicMembers {
  members(topic: string): SessionInfo[];
}

export interface GatherOptions {
  /** How long each recipient has to answer (ms). Default: the callback's timeoutMs, else callbackTimeoutMs. */
  timeoutMs?: number;
  /** Sessions not to ask (the caller's own, say). */
  except?: string[];
}

/**
 * A service's typed handle on its clients: besides what any process can
 * reach (CallbackChannels), the caller (WCF's GetCallbackChannel), a topic's
 * other subscribers, and scatter-gather over a topic's or a user's sessions.
 */
export class CallbackHub<C extends ContractDefinition> extends CallbackChannels<C> {
  constructor(contract: C, sender: CallbackSender, defaultTimeoutMs: number, private readonly recipients: TopicMembers) {
    super(contract, sender, defaultTimeoutMs);
  }

  /** The session whose operation (or end hook) is running. */
  caller(): CallbackProxy<C> {
    return this.session(currentSession().id);
  }

  /** Every subscriber of `topic` except the caller. */
  others(topic: string): TopicProxy<C> {
    checkTopic(topic);
    return this.fanOut(topic, currentSession().id);
  }

  /**
   * Asks a request-reply callback of every subscriber of `topic`, on every
   * node, at once. Resolves with one answer per recipient (presence's
   * subscribers when asked): its result, or its error (the client's code,
   * TIMEOUT, UNAVAILABLE, BAD_REQUEST for an invalid result), all within the
   * timeout. It never rejects for a recipient's failure.
   */
  gather(topic: string, options: GatherOptions = {}): GatherProxy<C> {
    checkTopic(topic);
    return this.gatherFrom(topic, options);
  }

  /** Scatter-gather over every session of a user. */
  gatherUser(userId: string, options: GatherOptions = {}): GatherProxy<C> {
    return this.gatherFrom(userTopic(userId), options);
  }

  private gatherFrom(topic: string, options: GatherOptions): GatherProxy<C> {
    return this.proxy((name, definition, args) => {
      if (definition.oneWay) {
        throw new DuplexError('INTERNAL', `${this.contract.name}.${name} is one-way: only request-reply callbacks are gathered`);
      }
      const frame = { service: this.contract.name, method: name, args };
      const timeoutMs = options.timeoutMs ?? this.timeoutOf(definition);
      const except = new Set(options.except);
      const recipients = this.recipients.members(topic).filter(({ id }) => !except.has(id));
      const asked = recipients.map(({ id }) =>
        this.sender
          .request(id, frame, timeoutMs)
          .then((result): GatherAnswer<unknown> => ({ sessionId: id, ok: true, result: this.checkAnswer(name, definition, result) }))
          .catch((error: unknown): GatherAnswer<unknown> => ({ sessionId: id, ok: false, error: toDuplexError(error).toWire() })),
      );
      return Promise.all(asked);
    }) as GatherProxy<C>;
  }
}
