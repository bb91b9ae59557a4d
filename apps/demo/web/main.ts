/**
 * The demo page: the beer party and a show's seat map, over the typed client.
 * Contracts are imported as types only, so the bundle carries the client and
 * socket.io-client, nothing of the server.
 */
import { DuplexClient, DuplexError, type CallbacksOf, type OperationsOf } from '@nest-duplex/client';
import type { beerInventoryContract } from '../src/beer-inventory/beer-inventory.contract';
import type { seatBookingContract } from '../src/seat-booking/seat-booking.contract';

type Party = typeof beerInventoryContract;
type Seats = typeof seatBookingContract;
type SeatView = 'free' | 'mine' | 'taken' | 'booked';

const SHOW = new URLSearchParams(location.search).get('show') ?? 'premiere';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const seatViews = new Map<string, SeatView>();
const seatButtons = new Map<string, HTMLButtonElement>();
const guests = new Set<string>();
let me: string | undefined;

function log(text: string, error = false): void {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (error) item.className = 'error';
  $('log').prepend(item);
}

function fail(error: unknown): void {
  log(error instanceof DuplexError ? `${error.code}: ${error.message}` : String(error), true);
}

function drawGuests(): void {
  $('guests').replaceChildren(
    ...[...guests].sort().map((name) => {
      const item = document.createElement('li');
      item.textContent = name === me ? `${name} (you)` : name;
      item.dataset.guest = name;
      return item;
    }),
  );
}

function setSeat(seat: string, view: SeatView): void {
  seatViews.set(seat, view);
  const button = seatButtons.get(seat);
  if (!button) return;
  button.className = `seat ${view}`;
  button.disabled = view === 'taken' || view === 'booked';
  button.title = view;
}

function drawSeats(seats: Record<string, 'free' | 'selected' | 'booked'>, mine: Set<string>): void {
  const grid = $('seats');
  grid.replaceChildren();
  seatButtons.clear();
  for (const [seat, state] of Object.entries(seats)) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = seat;
    button.dataset.seat = seat;
    button.addEventListener('click', () => void toggleSeat(seat));
    seatButtons.set(seat, button);
    grid.append(button);
    setSeat(seat, mine.has(seat) ? 'mine' : state === 'free' ? 'free' : state === 'booked' ? 'booked' : 'taken');
  }
}

const client = new DuplexClient(location.origin, { onError: fail });

const party = client.service<OperationsOf<Party>, CallbacksOf<Party>>('beer-inventory', {
  notifyGuestJoinedParty(name) {
    log(`beer-inventory.notifyGuestJoinedParty(${name})`);
    guests.add(name);
    drawGuests();
  },
  notifyBeerInventoryChanged(name, beers) {
    log(`beer-inventory.notifyBeerInventoryChanged(${name}, ${beers})`);
    $('inventory').textContent = String(beers);
  },
  notifyGuestLeftParty(name) {
    log(`beer-inventory.notifyGuestLeftParty(${name})`);
    guests.delete(name);
    drawGuests();
  },
});

const seats = client.service<OperationsOf<Seats>, CallbacksOf<Seats>>('seat-booking', {
  seatSelected(show, seat) {
    log(`seat-booking.seatSelected(${show}, ${seat})`);
    if (show === SHOW) setSeat(seat, 'taken');
  },
  seatReleased(show, seat) {
    log(`seat-booking.seatReleased(${show}, ${seat})`);
    if (show === SHOW && seatViews.get(seat) !== 'mine') setSeat(seat, 'free');
  },
  seatBooked(show, seat) {
    log(`seat-booking.seatBooked(${show}, ${seat})`);
    if (show === SHOW) setSeat(seat, 'booked');
  },
});

async function toggleSeat(seat: string): Promise<void> {
  try {
    if (seatViews.get(seat) === 'mine') {
      await seats.releaseSeat(SHOW, seat);
      setSeat(seat, 'free');
    } else if (await seats.selectSeat(SHOW, seat)) {
      setSeat(seat, 'mine');
    } else {
      setSeat(seat, 'taken');
      log(`${seat} was taken first by someone else`, true);
    }
  } catch (error) {
    fail(error);
  }
}

async function refresh(): Promise<void> {
  // On every session frame: after a reconnect, or when the node says callbacks were lost, reload the view whole.
  const mine = new Set([...seatViews].filter(([, view]) => view === 'mine').map(([seat]) => seat));
  const [map, state] = await Promise.all([seats.getSeatMap(SHOW), party.getParty()]);
  drawSeats(map.seats, mine);
  guests.clear();
  for (const name of state.guests) guests.add(name);
  drawGuests();
  $('inventory').textContent = String(state.inventory);
}

client.onSession((frame) => {
  $('node').textContent = frame.nodeId;
  $('link').textContent = frame.resumed ? 'resumed' : 'connected';
  $('link').classList.add('up');
  document.body.dataset.node = frame.nodeId;
  refresh()
    .then(() => (document.body.dataset.ready = 'true'))
    .catch(fail);
});
client.socket.on('disconnect', () => {
  $('link').textContent = 'reconnecting';
  $('link').classList.remove('up');
});

$('show-id').textContent = SHOW;

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $<HTMLInputElement>('guest-name').value.trim();
  party
    .joinTheParty(name)
    .then((beers) => {
      me = name;
      $('me').textContent = name;
      $('join-form').hidden = true;
      $('guest-actions').hidden = false;
      $('inventory').textContent = String(beers);
      guests.add(name);
      drawGuests();
    })
    .catch(fail);
});
$('drink').addEventListener('click', () => party.drinkBeer(me!).catch(fail));
$('beer-run').addEventListener('click', () => party.makeBeerRun(me!, 6).catch(fail));
$('leave').addEventListener('click', () =>
  party
    .leaveTheParty(me!)
    .then(() => {
      guests.delete(me!);
      me = undefined;
      drawGuests();
      // Leaving also ends the party's news; watch it again.
      return refresh();
      $('join-form').hidden = false;
      $('guest-actions').hidden = true;
    })
    .catch(fail),
);
$('book').addEventListener('click', () =>
  seats
    .bookSeats(SHOW)
    .then((booked) => {
      for (const seat of booked) setSeat(seat, 'booked');
      log(booked.length ? `booked ${booked.join(', ')}` : 'select seats first');
    })
    .catch(fail),
);
