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

/**
 * The beer party. A guest is a session; its name is fixed at join and must
 * match on every later call, so one guest cannot drink in another's name.
 */
@DuplexService(beerInventoryContract)
export class BeerInventoryService implements OperationHandlers<typeof beerInventoryContract>, OnSessionEnd {
  private readonly logger = new Logger(BeerInventoryService.name);
  private readonly clients;
  private readonly guests = new Map<string, string>(); // sessionId → guest name
  private inventory = INITIAL_INVENTORY;

  constructor(private readonly duplex: DuplexContext) {
    this.clients = duplex.callbacks(beerInventoryContract);
  }

  async joinTheParty(guestName: string): Promise<number> {
    const sessionId = this.duplex.session.id;
    const joinedAs = this.guests.get(sessionId);
    if (joinedAs !== undefined) {
      if (joinedAs !== guestName) throw new DuplexError('CONFLICT', `this session already joined as "${joinedAs}"`);
      return this.inventory;
    }
    if ([...this.guests.values()].includes(guestName)) {
      throw new DuplexError('CONFLICT', `a guest named "${guestName}" is already at the party`);
    }
    this.guests.set(sessionId, guestName);
    await this.duplex.subscribe(PARTY_TOPIC);
    await this.clients.others(PARTY_TOPIC).notifyGuestJoinedParty(guestName);
    return this.inventory;
  }

  async makeBeerRun(guestName: string, numberOfBeers: number): Promise<void> {
    this.guest(guestName);
    this.inventory += numberOfBeers;
    await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, this.inventory);
  }

  async drinkBeer(guestName: string): Promise<void> {
    this.guest(guestName);
    if (this.inventory === 0) {
      this.logger.debug(`${guestName} wanted a beer, but there is none`);
      return;
    }
    this.inventory -= 1;
    await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, this.inventory);
  }

  async leaveTheParty(guestName: string): Promise<void> {
    this.guest(guestName);
    await this.leave(this.duplex.session);
  }

  async onSessionEnd(session: SessionInfo): Promise<void> {
    await this.leave(session);
  }

  /** Removal is the guard: whichever of leave and disconnect comes first notifies, once. */
  private async leave(session: SessionInfo): Promise<void> {
    const guestName = this.guests.get(session.id);
    if (guestName === undefined) return;
    this.guests.delete(session.id);
    await this.duplex.unsubscribe(PARTY_TOPIC);
    await this.clients.others(PARTY_TOPIC).notifyGuestLeftParty(guestName);
  }

  private guest(guestName: string): void {
    const joinedAs = this.guests.get(this.duplex.session.id);
    if (joinedAs === undefined) throw new DuplexError('FORBIDDEN', 'join the party first');
    if (joinedAs !== guestName) throw new DuplexError('FORBIDDEN', `this session is "${joinedAs}", not "${guestName}"`);
  }
}
