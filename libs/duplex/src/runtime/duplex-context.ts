import { Inject, Injectable } from '@nestjs/common';
import type { ContractDefinition } from '@nest-duplex/protocol';
import type { SessionInfo } from '../contracts/session-info';
import { checkTopic, userTopic } from '../presence/user-topic';
import { currentSession } from './call-context';
import { CallbackHub } from './callback-hub';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { CallbackRouter } from './callback-router';
import { SessionMembership } from './session-membership';

/**
 * What a service injects to reach its clients and manage the caller's
 * subscriptions. Everything about "the caller" reads the running call's
 * session, so handlers keep the contract's plain signatures.
 */
@Injectable()
export class DuplexContext {
  constructor(
    private readonly router: CallbackRouter,
    private readonly membership: SessionMembership,
    @Inject(DUPLEX_OPTIONS) private readonly options: Pick<ResolvedDuplexOptions, 'nodeId' | 'callbackTimeoutMs'>,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  callbacks<C extends ContractDefinition>(contract: C): CallbackHub<C> {
    return new CallbackHub(contract, this.router, this.options.callbackTimeoutMs, this.membership);
  }

  /** The session of the running call. */
  get session(): SessionInfo {
    return currentSession();
  }

  /** Subscribes the caller; resolves once topic callbacks reach it. */
  subscribe(topic: string): Promise<void> {
    return this.membership.subscribe(currentSession(), topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.membership.unsubscribe(currentSession(), topic);
  }

  /** Sets (or, with undefined, removes) a JSON attribute of the caller's session; see SessionInfo.attributes. */
  setAttribute(key: string, value: unknown): void {
    this.membership.setAttribute(currentSession(), key, value);
  }

  /** Subscribers of a topic on every node of the cluster (remote ones as of their node's last announcement). */
  members(topic: string): SessionInfo[] {
    checkTopic(topic);
    return this.membership.members(topic);
  }

  /** The sessions of a user on every node (connected, or waiting within their grace period to be resumed). */
  sessionsOf(userId: string): SessionInfo[] {
    return this.membership.members(userTopic(userId));
  }

  /** Whether a user has a session anywhere in the cluster. */
  isOnline(userId: string): boolean {
    return this.sessionsOf(userId).length > 0;
  }
}
