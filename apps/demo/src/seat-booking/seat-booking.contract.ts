import { z } from 'zod';
import { callback, defineContract, operation } from '@nest-duplex/protocol';

export const ROWS = 'ABCDEFGHIJ';
export const SEATS_PER_ROW = 10;
/** Every show has the same hall: rows A–J, seats 1–10 ("A1" … "J10"). */
export const ALL_SEATS = [...ROWS].flatMap((row) => Array.from({ length: SEATS_PER_ROW }, (_, i) => `${row}${i + 1}`));

const showId = z.string().regex(/^[\w-]{1,64}$/, 'a show id is 1–64 letters, digits, _ or -');
const seat = z.string().regex(/^[A-J](10|[1-9])$/, 'a seat is a row A–J and a number 1–10, like "C7"');
const seatState = z.enum(['free', 'selected', 'booked']);

export const seatMapSchema = z.object({
  showId: z.string(),
  seats: z.record(z.string(), seatState),
});
export type SeatMap = z.infer<typeof seatMapSchema>;

export const seatBookingContract = defineContract({
  name: 'seat-booking',
  operations: {
    /** Answers the show's seats and subscribes the caller to its changes. */
    getSeatMap: operation.requestReply(z.tuple([showId]), seatMapSchema),
    /** True if the caller now holds the seat; false if another session has it. */
    selectSeat: operation.requestReply(z.tuple([showId, seat]), z.boolean()),
    /** Only the holder may release (FORBIDDEN otherwise); a booked seat stays booked (CONFLICT). */
    releaseSeat: operation.requestReply(z.tuple([showId, seat]), z.void()),
    /** Turns the caller's selections into bookings; answers the booked seats. */
    bookSeats: operation.requestReply(z.tuple([showId]), z.array(z.string())),
  },
  callbacks: {
    seatSelected: callback.oneWay(z.tuple([z.string(), z.string()])),
    seatReleased: callback.oneWay(z.tuple([z.string(), z.string()])),
    seatBooked: callback.oneWay(z.tuple([z.string(), z.string()])),
  },
});

export const showTopic = (id: string) => `show.${id}`;
