import { Logger } from '@nestjs/common';
import {
  DuplexContext,
  DuplexError,
  DuplexService,
  OnSessionEnd,
  OperationHandlers,
  SessionInfo,
} from '../../../../libs/duplex/src';
import { beerInventoryContract, PARTY_TOPIC } from './beer-inventory.contract';

const INITIAL_INVENTORY = Number(process.env.BEER_INITIAL_INVENTORY ?? 6);
/** The session attribute that makes a session a guest. */
const GUEST = 'guestName';

/**
 * The beer party. A guest is a session subscribed to the party with a
 * `guestName` attribute; the name is fixed at join and must match on every
 * later call, so one guest cannot drink in another's name. The attribute
 * travels with the session's presence, so when a node dies, the node that
 * ends its sessions still knows who left.
 */
@DuplexService(beerInventoryContract)
export class BeerInventoryService implements OperationHandlers<typeof beerInventoryContract>, OnSessionEnd {
  private readonly logger = new Logger(BeerInventoryService.name);
  private readonly clients;
  private inventory = INITIAL_INVENTORY;

  constructor(private readonly duplex: DuplexContext) {
    this.clients = duplex.callbacks(beerInventoryContract);
  }

  async joinTheParty(guestName: string): Promise<number> {
    const joinedAs = guestOf(this.duplex.session);
    if (joinedAs !== undefined) {
      if (joinedAs !== guestName) throw new DuplexError('CONFLICT', `this session already joined as "${joinedAs}"`);
      return this.inventory;
    }
    if (this.duplex.members(PARTY_TOPIC).some((guest) => guestOf(guest) === guestName)) {
      throw new DuplexError('CONFLICT', `a guest named "${guestName}" is already at the party`);
    }
    this.duplex.setAttribute(GUEST, guestName);
    await this.duplex.subscribe(PARTY_TOPIC);
    await this.clients.others(PARTY_TOPIC).notifyGuestJoinedParty(guestName);
    return this.inventory;
  }

  async makeBeerRun(guestName: string, numberOfBeers: number): Promise<void> {
    this.checkGuest(guestName);
    this.inventory += numberOfBeers;
    await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, this.inventory);
  }

  async drinkBeer(guestName: string): Promise<void> {
    this.checkGuest(guestName);
    if (this.inventory === 0) {
      this.logger.debug(`${guestName} wanted a beer, but there is none`);
      return;
    }
    this.inventory -= 1;
    await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, this.inventory);
  }

  async leaveTheParty(guestName: string): Promise<void> {
    this.checkGuest(guestName);
    await this.leave(this.duplex.session);
  }

  async onSessionEnd(session: SessionInfo): Promise<void> {
    await this.leave(session);
  }

  /** Clearing the attribute is the guard: whichever of leave and disconnect comes first notifies, once. */
  private async leave(session: SessionInfo): Promise<void> {
    const guestName = guestOf(session);
    if (guestName === undefined) return;
    this.duplex.setAttribute(GUEST, undefined);
    await this.duplex.unsubscribe(PARTY_TOPIC);
    await this.clients.others(PARTY_TOPIC).notifyGuestLeftParty(guestName);
  }

  private checkGuest(guestName: string): void {
    const joinedAs = guestOf(this.duplex.session);
    if (joinedAs === undefined) throw new DuplexError('FORBIDDEN', 'join the party first');
    if (joinedAs !== guestName) throw new DuplexError('FORBIDDEN', `this session is "${joinedAs}", not "${guestName}"`);
  }
}

function guestOf(session: SessionInfo): string | undefined {
  const name = session.attributes[GUEST];
  return typeof name === 'string' ? name : undefined;
}
