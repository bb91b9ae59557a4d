import { z } from 'zod';
import { callback, defineContract, operation } from '@nest-duplex/protocol';

const guestName = z.string().trim().min(1).max(64);

export const beerInventoryContract = defineContract({
  name: 'beer-inventory',
  operations: {
    /** Joins the caller to the party; answers the current inventory. */
    joinTheParty: operation.requestReply(z.tuple([guestName]), z.number().int()),
    /** The guests and the inventory now, cluster-wide; subscribes the caller to the party's news as a watcher. */
    getParty: operation.requestReply(z.tuple([]), z.object({ guests: z.array(z.string()), inventory: z.number().int() })),
    makeBeerRun: operation.oneWay(z.tuple([guestName, z.number().int().min(1).max(1_000)])),
    drinkBeer: operation.oneWay(z.tuple([guestName])),
    leaveTheParty: operation.oneWay(z.tuple([guestName])),
    /** The caller, a guest, asks every other guest "another round?" at once; answers the tally once each answered or the 10 s ran out. */
    callARound: operation.requestReply(
      z.tuple([guestName]),
      z.object({ asked: z.number().int(), yes: z.number().int(), no: z.number().int(), noAnswer: z.number().int() }),
    ),
  },
  callbacks: {
    notifyGuestJoinedParty: callback.oneWay(z.tuple([z.string()])),
    /** `numberOfBeers` is the inventory after the change. */
    notifyBeerInventoryChanged: callback.oneWay(z.tuple([z.string(), z.number().int()])),
    notifyGuestLeftParty: callback.oneWay(z.tuple([z.string()])),
    /** Asked of each guest but the host by callARound(host): true for another round. */
    anotherRound: callback.requestReply(z.tuple([z.string()]), z.boolean(), { timeoutMs: 10_000 }),
  },
});

export const PARTY_TOPIC = 'beer-party';
/** The guests only (the party topic also has watchers): who is asked for another round. */
export const GUESTS_TOPIC = 'beer-party.guests';
