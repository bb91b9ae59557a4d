import { Inject, Injectable } from '@nestjs/common';
import { DuplexError } from '@nest-duplex/protocol';
import { userIdOf } from '../contracts/session-info';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { userTopic } from '../presence/user-topic';
import type { Session } from '../runtime/session';
import { SessionMembership } from '../runtime/session-membership';
import { SessionRegistry } from '../runtime/session-registry';

type QuotaOptions = Pick<ResolvedDuplexOptions, 'maxSessionsPerUser' | 'maxSessionsPerAddress'>;

/**
 * How many sessions a user holds (cluster-wide, as presence knows it) and a
 * client address holds (on this node), so a handshake that would open one
 * more than allowed is refused with RESOURCE_EXHAUSTED before it opens.
 */
@Injectable()
export class SessionQuotas {
  /** Sessions here by the address whose handshake opened or moved them here. */
  private readonly addressOf = new Map<string, string>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    @Inject(DUPLEX_OPTIONS) private readonly options: QuotaOptions,
    private readonly membership: SessionMembership,
    sessions: SessionRegistry,
  ) {
    sessions.on('left', (session) => this.release(session.id));
  }

  /** Throws RESOURCE_EXHAUSTED if a new session for this identity, from this address, would be one too many. */
  check(identity: unknown, address: string): void {
    const { maxSessionsPerUser, maxSessionsPerAddress } = this.options;
    const userId = userIdOf(identity);
    if (maxSessionsPerUser > 0 && userId !== undefined) {
      const held = this.membership.members(userTopic(userId)).length;
      if (held >= maxSessionsPerUser) {
        throw new DuplexError('RESOURCE_EXHAUSTED', `this user has ${held} sessions; the limit is ${maxSessionsPerUser}`);
      }
    }
    if (maxSessionsPerAddress > 0 && (this.perAddress.get(address) ?? 0) >= maxSessionsPerAddress) {
      throw new DuplexError('RESOURCE_EXHAUSTED', `this address has ${maxSessionsPerAddress} sessions on this node; the limit is ${maxSessionsPerAddress}`);
    }
  }

  /** A session opened (or moved) here for a handshake from `address`. */
  opened(session: Session, address: string): void {
    if (this.options.maxSessionsPerAddress === 0 || this.addressOf.has(session.id)) return;
    this.addressOf.set(session.id, address);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  private release(sessionId: string): void {
    const address = this.addressOf.get(sessionId);
    if (address === undefined) return;
    this.addressOf.delete(sessionId);
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }
}
