/**
 * The demo page: the beer party and a show's seat map, over the typed client.
 * Contracts are imported as types only, so the bundle carries the client and
 * socket.io-client, nothing of the server.
 *
 * What the page keeps in step with the server:
 * - the seat map and the party, from the callbacks as they come, and reloaded
 *   whole on every session frame that is not a resume with nothing missed;
 * - who you are (a guest's name belongs to the session): gone with a fresh
 *   session, and after Leave;
 * - the connection: which node, reconnecting, resumed, moved to another node,
 *   and "gap: reloaded" when callbacks were lost.
 * The Callbacks panel lists callbacks only; errors and notes go to the notices.
 */
import { DuplexClient, DuplexError, type CallbacksOf, type OperationsOf, type SessionFrame } from '@nest-duplex/client';
import type { beerInventoryContract } from '../src/beer-inventory/beer-inventory.contract';
import type { boxOfficeContract } from '../src/box-office/box-office.contract';
import type { seatBookingContract } from '../src/seat-booking/seat-booking.contract';

type Party = typeof beerInventoryContract;
type Seats = typeof seatBookingContract;
type BoxOffice = typeof boxOfficeContract;
type SeatView = 'free' | 'mine' | 'taken' | 'booked';
type NoticeKind = 'error' | 'info' | 'ok' | 'question';
type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'resumed' | 'moved' | 'fresh';

const SHOW = new URLSearchParams(location.search).get('show') ?? 'premiere';
const BEER_RUN = 6;
const MAX_LOG = 200;
const MAX_NOTICES = 4;
/** How long a note stays; an error stays until dismissed, or until newer notices push it out. */
const NOTICE_MS = 20_000;
const MAX_GLASSES = 30;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const time = () => new Date().toLocaleTimeString([], { hour12: false });

const seatViews = new Map<string, SeatView>();
const seatButtons = new Map<string, HTMLButtonElement>();
const guests = new Set<string>();
let me: string | undefined;
let inventory: number | undefined;
/** The node of the last session frame, to tell a move from a resume on the same node. */
let lastNode: string | undefined;
let sessions = 0;
/** Each reload's number: an older reload that answers late does not overwrite a newer one. */
let reloads = 0;

// ---------------------------------------------------------------- notices and the callbacks log

/** Errors and notes, newest first, a few at a time; never in the callbacks log. */
function notice(text: string, kind: NoticeKind = 'info'): void {
  const item = el('li', `notice ${kind}`);
  item.dataset.kind = kind;
  item.append(el('span', 'when', time()), el('span', 'text', text));
  const close = el('button', 'close', '×');
  close.type = 'button';
  close.title = 'dismiss';
  close.addEventListener('click', () => item.remove());
  item.append(close);
  const list = $('notices');
  list.prepend(item);
  if (kind !== 'error') setTimeout(() => item.remove(), NOTICE_MS);
  while (list.children.length > MAX_NOTICES) list.lastElementChild!.remove();
}

/** A notice with Yes and No; resolves with the choice, and with false once it is dismissed or pushed out. */
function ask(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    notice(question, 'question');
    const item = $('notices').firstElementChild as HTMLElement;
    for (const [label, answer] of [['Yes', true], ['No', false]] as const) {
      const button = el('button', 'answer', label);
      button.type = 'button';
      button.addEventListener('click', () => {
        resolve(answer);
        item.remove();
      });
      item.querySelector('.close')!.before(button);
    }
    new MutationObserver((_, observer) => {
      if (item.isConnected) return;
      observer.disconnect();
      resolve(false);
    }).observe($('notices'), { childList: true });
  });
}

function fail(error: unknown): void {
  if (error instanceof DuplexError) {
    // The client reports lost callbacks here too; the session frame that follows shows it as "gap: reloaded".
    if (error.code === 'UNAVAILABLE' && /callbacks were lost/.test(error.message)) return;
    notice(`${error.code}: ${error.message}`, 'error');
  } else {
    notice(error instanceof Error ? error.message : String(error), 'error');
  }
}

/** One line per callback the server made to this page, and nothing else. */
function logCallback(service: string, method: string, args: unknown[]): void {
  const item = el('li', 'callback');
  item.dataset.kind = 'callback';
  item.dataset.method = `${service}.${method}`;
  const call = el('span', 'call');
  call.append(el('span', 'method', method), el('span', 'args', `(${args.map((arg) => JSON.stringify(arg)).join(', ')})`));
  item.append(el('span', 'when', time()), el('span', 'service', `${service}.`), call);
  const log = $('log');
  log.prepend(item);
  while (log.children.length > MAX_LOG) log.lastElementChild!.remove();
}

// ---------------------------------------------------------------- the party

function hue(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) % 360;
  return hash;
}

function drawGuests(): void {
  $('guests').replaceChildren(
    ...[...guests].sort((a, b) => a.localeCompare(b)).map((name) => {
      const item = el('li', name === me ? 'guest you' : 'guest');
      item.dataset.guest = name;
      const avatar = el('span', 'avatar', [...name][0]?.toUpperCase() ?? '?');
      avatar.style.background = `hsl(${hue(name)} 55% 45%)`;
      item.append(avatar, el('span', 'name', name));
      if (name === me) item.append(el('span', 'tag', 'you'));
      return item;
    }),
  );
  $('no-guests').hidden = guests.size > 0;
  $('count-guests').textContent = String(guests.size);
}

function drawInventory(beers: number): void {
  const changed = inventory !== undefined && inventory !== beers;
  inventory = beers;
  $('inventory').textContent = String(beers);
  const glasses = Array.from({ length: Math.min(beers, MAX_GLASSES) }, () => el('span', 'glass'));
  const more = beers > MAX_GLASSES ? [el('span', 'more', `+${beers - MAX_GLASSES}`)] : [];
  const empty = beers === 0 ? [el('span', 'more', 'the fridge is empty')] : [];
  $('beers').replaceChildren(...glasses, ...more, ...empty);
  if (changed) flash($('inventory').parentElement!);
}

function flash(element: HTMLElement): void {
  element.classList.remove('flash');
  void element.offsetWidth; // restarts the animation
  element.classList.add('flash');
}

/** Who this page is at the party: a name, or nobody (the join form). */
function setIdentity(name: string | undefined): void {
  me = name;
  $('me').textContent = name ?? '';
  $('join-form').hidden = name !== undefined;
  $('guest-actions').hidden = name === undefined;
  document.body.dataset.guest = name ?? '';
  if (name === undefined) delete document.body.dataset.guest;
  drawGuests();
}

// ---------------------------------------------------------------- the seat map

function drawCounts(): void {
  const count = (view: SeatView) => [...seatViews.values()].filter((v) => v === view).length;
  $('count-free').textContent = String(count('free'));
  $('count-taken').textContent = String(count('taken'));
  $('count-booked').textContent = String(count('booked'));
  const mine = count('mine');
  $('count-mine').textContent = String(mine);
  $('book').textContent = mine ? `Book my ${mine === 1 ? 'seat' : `${mine} seats`}` : 'Book my seats';
}

function setSeat(seat: string, view: SeatView): void {
  seatViews.set(seat, view);
  const button = seatButtons.get(seat);
  if (button) {
    button.className = `seat ${view}`;
    button.disabled = view === 'taken' || view === 'booked';
    button.title = `${seat}: ${view === 'taken' ? 'held by someone' : view === 'mine' ? 'yours (click to release)' : view}`;
  }
  drawCounts();
}

function drawSeats(seats: Record<string, 'free' | 'selected' | 'booked'>, mine: Set<string>): void {
  const grid = $('seats');
  grid.replaceChildren();
  seatButtons.clear();
  seatViews.clear();
  let row = '';
  for (const [seat, state] of Object.entries(seats)) {
    if (seat[0] !== row) {
      row = seat[0];
      grid.append(el('span', 'row-label', row));
    }
    const button = el('button', 'seat', seat.slice(1));
    button.type = 'button';
    button.dataset.seat = seat;
    button.addEventListener('click', () => void toggleSeat(seat));
    seatButtons.set(seat, button);
    grid.append(button);
    const held = state === 'selected';
    setSeat(seat, held && mine.has(seat) ? 'mine' : held ? 'taken' : state);
  }
}

// ---------------------------------------------------------------- the services

const client = new DuplexClient(location.origin, { onError: fail });

const party = client.service<OperationsOf<Party>, CallbacksOf<Party>>('beer-inventory', {
  notifyGuestJoinedParty(name) {
    logCallback('beer-inventory', 'notifyGuestJoinedParty', [name]);
    guests.add(name);
    drawGuests();
  },
  notifyBeerInventoryChanged(name, beers) {
    logCallback('beer-inventory', 'notifyBeerInventoryChanged', [name, beers]);
    drawInventory(beers);
  },
  notifyGuestLeftParty(name) {
    logCallback('beer-inventory', 'notifyGuestLeftParty', [name]);
    guests.delete(name);
    drawGuests();
  },
  // Request-reply: the host waits for this page's answer (10 s), so it is asked in the notices.
  anotherRound(host) {
    logCallback('beer-inventory', 'anotherRound', [host]);
    return ask(`${host} asks: another round?`);
  },
});

const seats = client.service<OperationsOf<Seats>, CallbacksOf<Seats>>('seat-booking', {
  seatSelected(show, seat) {
    logCallback('seat-booking', 'seatSelected', [show, seat]);
    if (show === SHOW) setSeat(seat, 'taken');
  },
  seatReleased(show, seat) {
    logCallback('seat-booking', 'seatReleased', [show, seat]);
    if (show === SHOW && seatViews.get(seat) !== 'mine') setSeat(seat, 'free');
  },
  seatBooked(show, seat) {
    logCallback('seat-booking', 'seatBooked', [show, seat]);
    if (show === SHOW) setSeat(seat, 'booked');
  },
});

// From the box office worker (apps/box-office), a process that is not a node, to this show's watchers.
client.service<OperationsOf<BoxOffice>, CallbacksOf<BoxOffice>>('box-office', {
  announcement(show, text) {
    logCallback('box-office', 'announcement', [show, text]);
    if (show === SHOW) notice(`Box office: ${text}`, 'info');
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
      notice(`${seat} was taken first by someone else`, 'info');
    }
  } catch (error) {
    fail(error);
  }
}

/**
 * Reads the seat map and the party whole (which also subscribes this session
 * to their news again). `keepMine`: the session is the same one, so the seats
 * it held are still its own; a new session holds none.
 */
async function reload(keepMine: boolean): Promise<void> {
  const run = ++reloads;
  const mine = keepMine ? new Set([...seatViews].filter(([, view]) => view === 'mine').map(([seat]) => seat)) : new Set<string>();
  const [map, state] = await Promise.all([seats.getSeatMap(SHOW), party.getParty()]);
  if (run !== reloads) return;
  drawSeats(map.seats, mine);
  guests.clear();
  for (const name of state.guests) guests.add(name);
  if (me !== undefined && !guests.has(me)) {
    notice(`You are no longer at the party as ${me}: join again.`, 'info');
    setIdentity(undefined);
  }
  drawGuests();
  drawInventory(state.inventory);
  document.body.dataset.reloads = String(run);
  document.body.dataset.ready = 'true';
}

// ---------------------------------------------------------------- the connection

function setLink(state: LinkState, text: string, detail = ''): void {
  const link = $('link');
  link.dataset.state = state;
  link.textContent = text;
  $('link-detail').textContent = detail;
  document.body.dataset.link = state;
  document.body.classList.toggle('offline', state === 'reconnecting' || state === 'connecting');
}

function onSession(frame: SessionFrame): void {
  sessions++;
  const previous = lastNode;
  lastNode = frame.nodeId;
  $('node').textContent = frame.nodeId;
  document.body.dataset.node = frame.nodeId;
  document.body.dataset.session = frame.sessionId;
  const gap = frame.missed !== 0;
  const moved = frame.resumed && previous !== undefined && previous !== frame.nodeId;

  if (!frame.resumed) {
    if (sessions === 1) {
      setLink('connected', 'connected');
    } else {
      // The old session ended (it was away too long): its guest left, its seats went back.
      setLink('fresh', 'new session', 'the old one ended: reloaded');
      notice(
        me !== undefined ? `Your session ended while you were away, and ${me} left the party. Join again.` : 'Your session ended while you were away: this is a new one.',
        'info',
      );
    }
    setIdentity(undefined);
  } else if (moved) {
    setLink('moved', 'moved · resumed', `from ${previous}`);
  } else {
    setLink('resumed', 'resumed');
  }

  const badge = $('gap');
  badge.hidden = !gap;
  if (gap) badge.textContent = frame.missed > 0 ? `gap: ${frame.missed} missed, reloaded` : 'gap: reloaded';

  // Resumed with nothing missed: the callbacks that were raised meanwhile are replayed, the view stays right.
  if (frame.resumed && !gap) return;
  reload(frame.resumed).catch(fail);
}

client.onSession(onSession);
client.socket.on('disconnect', () => setLink('reconnecting', 'reconnecting', lastNode ? `was on ${lastNode}` : ''));
client.socket.on('connect_error', () => {
  if (client.socket.active) setLink(lastNode ? 'reconnecting' : 'connecting', lastNode ? 'reconnecting' : 'connecting', 'retrying…');
});

// ---------------------------------------------------------------- the controls

$('show-id').textContent = SHOW;
setIdentity(undefined);

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('guest-name');
  const name = input.value.trim();
  if (!name) return notice('Type a name to join.', 'info');
  party
    .joinTheParty(name)
    .then((beers) => {
      input.value = '';
      guests.add(name);
      setIdentity(name);
      drawInventory(beers);
      notice(`Welcome, ${name}!`, 'ok');
    })
    .catch(fail);
});

/** Runs a guest's action as the guest this page is, or says to join first. */
function asGuest(action: (name: string) => Promise<void>): void {
  if (me === undefined) return notice('Join the party first.', 'info');
  action(me).catch(fail);
}

$('drink').addEventListener('click', () =>
  asGuest(async (name) => {
    await party.drinkBeer(name);
    if (inventory === 0) notice('No beer left: time for a beer run.', 'info');
  }),
);
$('beer-run').addEventListener('click', () => asGuest((name) => party.makeBeerRun(name, BEER_RUN)));
$('round').addEventListener('click', () =>
  asGuest(async (name) => {
    notice('Asking every other guest, on every node…', 'info');
    const { asked, yes, no, noAnswer } = await party.callARound(name);
    notice(asked === 0 ? 'Nobody else to ask.' : `Another round? ${yes} yes, ${no} no, ${noAnswer} no answer (of ${asked}).`, 'ok');
  }),
);
$('leave').addEventListener('click', () =>
  asGuest(async (name) => {
    await party.leaveTheParty(name);
    guests.delete(name);
    setIdentity(undefined);
    notice(`${name} left the party.`, 'info');
    // Leaving also ends the party's news for this session; watch it again.
    await reload(true);
  }),
);
$('book').addEventListener('click', () =>
  seats
    .bookSeats(SHOW)
    .then((booked) => {
      for (const seat of booked) setSeat(seat, 'booked');
      if (booked.length) notice(`Booked ${booked.join(', ')} for ${SHOW}. Enjoy the show!`, 'ok');
      else notice('Select seats first: click free seats on the map, then book them.', 'info');
    })
    .catch(fail),
);
