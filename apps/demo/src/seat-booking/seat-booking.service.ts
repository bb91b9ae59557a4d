import {
  DuplexContext,
  DuplexError,
  DuplexService,
  OnSessionEnd,
  OperationHandlers,
  ReplicatedStore,
  SessionInfo,
} from '@nest-duplex/server';
import { ALL_SEATS, SeatMap, seatBookingContract, showTopic } from './seat-booking.contract';

interface Hold {
  [key: string]: string | boolean;
  sessionId: string;
  booked: boolean;
}

/** Every show with a hold, so a session's seats can be found when it ends. */
const SHOWS = 'seats:shows';
const holdsOf = (showId: string) => `seats:${showId}`;

/**
 * Seat selection for shows, one seat map for the whole cluster. A seat is a
 * field of the show's map in the replicated store: selecting is
 * set-if-absent, so exactly one session wins it however many nodes race;
 * releasing and booking are compare-and-set against the hold the caller saw.
 */
@DuplexService(seatBookingContract)
export class SeatBookingService implements OperationHandlers<typeof seatBookingContract>, OnSessionEnd {
  private readonly clients;

  constructor(
    private readonly duplex: DuplexContext,
    private readonly state: ReplicatedStore,
  ) {
    this.clients = duplex.callbacks(seatBookingContract);
  }

  async getSeatMap(showId: string): Promise<SeatMap> {
    await this.duplex.subscribe(showTopic(showId));
    const seats: SeatMap['seats'] = Object.fromEntries(ALL_SEATS.map((seat) => [seat, 'free' as const]));
    for (const [seat, hold] of this.state.mapEntries<Hold>(holdsOf(showId))) seats[seat] = hold.booked ? 'booked' : 'selected';
    return { showId, seats };
  }

  async selectSeat(showId: string, seat: string): Promise<boolean> {
    const sessionId = this.duplex.session.id;
    const current = this.state.mapGet<Hold>(holdsOf(showId), seat);
    if (current) return current.sessionId === sessionId && !current.booked;
    if (!this.state.setMembers(SHOWS).includes(showId)) await this.state.setAdd(SHOWS, showId);
    const won = await this.state.mapSetIfAbsent(holdsOf(showId), seat, { sessionId, booked: false });
    if (won) await this.clients.others(showTopic(showId)).seatSelected(showId, seat);
    return won;
  }

  async releaseSeat(showId: string, seat: string): Promise<void> {
    const hold = this.state.mapGet<Hold>(holdsOf(showId), seat);
    if (!hold) return;
    if (hold.sessionId !== this.duplex.session.id) throw new DuplexError('FORBIDDEN', `seat ${seat} is held by another session`);
    if (hold.booked) throw new DuplexError('CONFLICT', `seat ${seat} is booked and cannot be released`);
    await this.release(showId, seat, hold);
  }

  async bookSeats(showId: string): Promise<string[]> {
    const sessionId = this.duplex.session.id;
    const booked: string[] = [];
    for (const [seat, hold] of this.state.mapEntries<Hold>(holdsOf(showId))) {
      if (hold.sessionId !== sessionId || hold.booked) continue;
      if (await this.state.mapCompareAndSet(holdsOf(showId), seat, hold, { ...hold, booked: true })) booked.push(seat);
    }
    const others = this.clients.others(showTopic(showId));
    for (const seat of booked) await others.seatBooked(showId, seat);
    return booked.sort((a, b) => ALL_SEATS.indexOf(a) - ALL_SEATS.indexOf(b));
  }

  /** Seats selected but not booked go back to the hall when their session ends, on whichever node ends it. */
  async onSessionEnd(session: SessionInfo): Promise<void> {
    for (const showId of this.state.setMembers(SHOWS)) {
      for (const [seat, hold] of this.state.mapEntries<Hold>(holdsOf(showId))) {
        if (hold.sessionId === session.id && !hold.booked) await this.release(showId, seat, hold);
      }
    }
  }

  private async release(showId: string, seat: string, hold: Hold): Promise<void> {
    if (await this.state.mapCompareAndSet(holdsOf(showId), seat, hold, null)) {
      await this.clients.topic(showTopic(showId)).seatReleased(showId, seat);
    }
  }
}
