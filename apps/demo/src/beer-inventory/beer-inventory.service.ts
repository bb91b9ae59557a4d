import {
  DuplexContext,
  DuplexError,
  DuplexService,
  OnSessionEnd,
  OperationHandlers,
  ReplicatedStore,
  SessionInfo,
} from '@nest-duplex/server';
import { beerInventoryContract, GUESTS_TOPIC, PARTY_TOPIC } from './beer-inventory.contract';

const INITIAL_INVENTORY = Number(process.env.BEER_INITIAL_INVENTORY ?? 6);
const INVENTORY = 'beer:inventory';
const GUESTS = 'beer:guests';
/** The session attribute that makes a session a guest. */
const GUEST = 'guestName';

/**
 * The beer party, one party for the whole cluster. The inventory and the
 * guest list live in the replicated store, so every node sees the same
 * numbers; increments are bounded at zero by the store itself, so no race
 * between nodes can drink below it. A guest's name is also a session
 * attribute, so the node that ends a dead node's session knows who left.
 */
@DuplexService(beerInventoryContract)
export class BeerInventoryService implements OperationHandlers<typeof beerInventoryContract>, OnSessionEnd {
  private readonly clients;

  constructor(
    private readonly duplex: DuplexContext,
    private readonly state: ReplicatedStore,
  ) {
    this.clients = duplex.callbacks(beerInventoryContract);
  }

  async joinTheParty(guestName: string): Promise<number> {
    const joinedAs = guestOf(this.duplex.session);
    if (joinedAs !== undefined && joinedAs !== guestName) {
      throw new DuplexError('CONFLICT', `this session already joined as "${joinedAs}"`);
    }
    if (joinedAs === undefined) {
      // The set is the cluster-wide guard: one name, one guest, whatever the race.
      if (!(await this.state.setAdd(GUESTS, guestName))) {
        throw new DuplexError('CONFLICT', `a guest named "${guestName}" is already at the party`);
      }
      this.duplex.setAttribute(GUEST, guestName);
      await this.duplex.subscribe(PARTY_TOPIC);
      await this.duplex.subscribe(GUESTS_TOPIC);
      await this.clients.others(PARTY_TOPIC).notifyGuestJoinedParty(guestName);
    }
    return this.inventory();
  }

  async getParty(): Promise<{ guests: string[]; inventory: number }> {
    await this.duplex.subscribe(PARTY_TOPIC);
    return { guests: this.state.setMembers(GUESTS), inventory: await this.inventory() };
  }

  async makeBeerRun(guestName: string, numberOfBeers: number): Promise<void> {
    this.checkGuest(guestName);
    await this.ensureInventory();
    const { value } = await this.state.increment(INVENTORY, numberOfBeers);
    await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, value);
  }

  async drinkBeer(guestName: string): Promise<void> {
    this.checkGuest(guestName);
    await this.ensureInventory();
    const { applied, value } = await this.state.increment(INVENTORY, -1, { min: 0 });
    if (applied) await this.clients.topic(PARTY_TOPIC).notifyBeerInventoryChanged(guestName, value);
  }

  async leaveTheParty(guestName: string): Promise<void> {
    this.checkGuest(guestName);
    await this.leave(this.duplex.session);
  }

  /** Scatter-gather: every other guest, on every node, at once; a guest who does not answer in time counts as no answer. */
  async callARound(guestName: string): Promise<{ asked: number; yes: number; no: number; noAnswer: number }> {
    this.checkGuest(guestName);
    const answers = await this.clients.gather(GUESTS_TOPIC, { except: [this.duplex.session.id] }).anotherRound(guestName);
    const tally = { asked: answers.length, yes: 0, no: 0, noAnswer: 0 };
    for (const answer of answers) {
      if (!answer.ok) tally.noAnswer++;
      else if (answer.result) tally.yes++;
      else tally.no++;
    }
    return tally;
  }

  async onSessionEnd(session: SessionInfo): Promise<void> {
    await this.leave(session);
  }

  /** Removal from the guest set is the guard: leave, disconnect and reaper notify once between them. */
  private async leave(session: SessionInfo): Promise<void> {
    const guestName = guestOf(session);
    if (guestName === undefined) return;
    this.duplex.setAttribute(GUEST, undefined);
    await this.duplex.unsubscribe(PARTY_TOPIC);
    await this.duplex.unsubscribe(GUESTS_TOPIC);
    if (await this.state.setRemove(GUESTS, guestName)) {
      await this.clients.others(PARTY_TOPIC).notifyGuestLeftParty(guestName);
    }
  }

  private async inventory(): Promise<number> {
    await this.ensureInventory();
    return this.state.get<number>(INVENTORY)!;
  }

  /** The first use anywhere stocks the party; set-if-absent makes every later one a no-op. */
  private async ensureInventory(): Promise<void> {
    if (this.state.get(INVENTORY) === undefined) await this.state.setIfAbsent(INVENTORY, INITIAL_INVENTORY);
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
