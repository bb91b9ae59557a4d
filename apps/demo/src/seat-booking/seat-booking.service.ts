import {
  DuplexContext,
  DuplexError,
  DuplexService,
  OnSessionEnd,
  OperationHandlers,
  SessionInfo,
} from '../../../../libs/duplex/src';
import { ALL_SEATS, SeatMap, seatBookingContract, showTopic } from './seat-booking.contract';

interface Hold {
  sessionId: string;
  booked: boolean;
}

/** Seat selection for shows: a seat is held by at most one session. */
@DuplexService(seatBookingContract)
export class SeatBookingService implements OperationHandlers<typeof seatBookingContract>, OnSessionEnd {
  private readonly clients;
  private readonly shows = new Map<string, Map<string, Hold>>(); // showId → seat → hold

  constructor(private readonly duplex: DuplexContext) {
    this.clients = duplex.callbacks(seatBookingContract);
  }

  async getSeatMap(showId: string): Promise<SeatMap> {
    await this.duplex.subscribe(showTopic(showId));
    const holds = this.show(showId);
    const seats: SeatMap['seats'] = {};
    for (const seat of ALL_SEATS) {
      const hold = holds.get(seat);
      seats[seat] = hold ? (hold.booked ? 'booked' : 'selected') : 'free';
    }
    return { showId, seats };
  }

  async selectSeat(showId: string, seat: string): Promise<boolean> {
    const holds = this.show(showId);
    const sessionId = this.duplex.session.id;
    const hold = holds.get(seat);
    if (hold) return hold.sessionId === sessionId && !hold.booked;
    holds.set(seat, { sessionId, booked: false });
    await this.clients.others(showTopic(showId)).seatSelected(showId, seat);
    return true;
  }

  async releaseSeat(showId: string, seat: string): Promise<void> {
    const hold = this.show(showId).get(seat);
    if (!hold) return;
    if (hold.sessionId !== this.duplex.session.id) throw new DuplexError('FORBIDDEN', `seat ${seat} is held by another session`);
    if (hold.booked) throw new DuplexError('CONFLICT', `seat ${seat} is booked and cannot be released`);
    await this.release(showId, seat);
  }

  async bookSeats(showId: string): Promise<string[]> {
    const sessionId = this.duplex.session.id;
    const booked: string[] = [];
    for (const [seat, hold] of this.show(showId)) {
      if (hold.sessionId !== sessionId || hold.booked) continue;
      hold.booked = true;
      booked.push(seat);
    }
    const others = this.clients.others(showTopic(showId));
    for (const seat of booked) await others.seatBooked(showId, seat);
    return booked.sort((a, b) => ALL_SEATS.indexOf(a) - ALL_SEATS.indexOf(b));
  }

  /** Seats selected but not booked go back to the hall when their session ends. */
  async onSessionEnd(session: SessionInfo): Promise<void> {
    for (const [showId, holds] of this.shows) {
      for (const [seat, hold] of holds) {
        if (hold.sessionId === session.id && !hold.booked) await this.release(showId, seat);
      }
    }
  }

  private async release(showId: string, seat: string): Promise<void> {
    this.show(showId).delete(seat);
    await this.clients.topic(showTopic(showId)).seatReleased(showId, seat);
  }

  private show(showId: string): Map<string, Hold> {
    let holds = this.shows.get(showId);
    if (!holds) this.shows.set(showId, (holds = new Map()));
    return holds;
  }
}
