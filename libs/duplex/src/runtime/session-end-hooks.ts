import { Injectable, Logger } from '@nestjs/common';
import type { PresenceSession } from '../cluster/bus-message';
import { hasSessionEndHook } from '../contracts/session-info';
import { callContext } from './call-context';
import { ServiceRegistry } from './service-registry';
import { Session } from './session';

/** What runs when a session ends: the services' `onSessionEnd` hooks. */
export interface SessionEndHandler {
  ended(session: Session): Promise<void>;
  /** A session of a dead node, ended here as if it had been ours. */
  endedRemote(info: PresenceSession): Promise<void>;
}

/**
 * Runs every hosted service's `onSessionEnd` for a session that ended, in the
 * session's call context (so `caller()` and `DuplexContext.session` work).
 * A hook that throws is logged; the others still run.
 */
@Injectable()
export class SessionEndHooks implements SessionEndHandler {
  private readonly logger = new Logger(SessionEndHooks.name);

  constructor(private readonly services: ServiceRegistry) {}

  async ended(session: Session): Promise<void> {
    for (const { contract, instance } of this.services.all()) {
      if (!hasSessionEndHook(instance)) continue;
      try {
        await callContext.run({ session }, async () => instance.onSessionEnd(session));
      } catch (error) {
        this.logger.error(`${contract.name}.onSessionEnd failed for ${session.id}: ${(error as Error)?.stack ?? error}`);
      }
    }
  }

  async endedRemote(info: PresenceSession): Promise<void> {
    const session = new Session(info.id, info.identity, 1, 0);
    session.attributes = { ...info.attributes };
    session.ended = true;
    this.logger.log(`ending session ${info.id} of a dead node`);
    await this.ended(session);
  }
}
