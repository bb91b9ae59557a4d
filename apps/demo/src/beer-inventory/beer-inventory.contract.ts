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
  },
  callbacks: {
    notifyGuestJoinedParty: callback.oneWay(z.tuple([z.string()])),
    /** `numberOfBeers` is the inventory after the change. */
    notifyBeerInventoryChanged: callback.oneWay(z.tuple([z.string(), z.number().int()])),
    notifyGuestLeftParty: callback.oneWay(z.tuple([z.string()])),
  },
});

export const PARTY_TOPIC = 'beer-party';
