import { expect } from '@jest/globals';
import type { SessionFrame } from '@nest-duplex/protocol';
import { beerInventoryContract } from '../../apps/demo/src/beer-inventory/beer-inventory.contract';
import { Clients, settle } from './clients';
import type { NodeProcess } from './node-process';

/** A guest that watches the party's inventory: every value it was told, and every session frame (the first, then resumes and gap notices). */
export interface Watcher {
  values: number[];
  sessions: SessionFrame[];
}

/**
 * The beer party as load: watchers on the given nodes, and runners that
 * make beer runs (each raises one inventory callback) in a loop until
 * `stop`, which answers how many runs were acknowledged. A run may be
 * refused (UNAVAILABLE) or wait out an outage (TIMEOUT); nothing else.
 */
export async function beerParty(clients: Clients, tag: string, watchersOn: NodeProcess[], runnersOn: NodeProcess[]) {
  const watchers = await Promise.all(
    watchersOn.map(async (node, i) => {
      const watcher: Watcher = { values: [], sessions: [] };
      const client = await clients.connect(node.url);
      watcher.sessions.push(await client.ready());
      client.onSession((frame) => void watcher.sessions.push(frame));
      await client
        .service(beerInventoryContract, { notifyBeerInventoryChanged: (_, n) => void watcher.values.push(n), notifyGuestJoinedParty: () => undefined })
        .joinTheParty(`${tag}-watcher-${i}`);
      return watcher;
    }),
  );
  let running = true;
  let acked = 0;
  let uncertain = 0;
  const loops = runnersOn.map(async (node, i) => {
    const runs = (await clients.connect(node.url, { callTimeoutMs: 30_000 })).service(beerInventoryContract, {
      notifyBeerInventoryChanged: () => undefined,
      notifyGuestJoinedParty: () => undefined,
    });
    await runs.joinTheParty(`${tag}-runner-${i}`);
    while (running) {
      try {
        await runs.makeBeerRun(`${tag}-runner-${i}`, 1);
        acked++;
      } catch (error) {
        const code = (error as { code?: string }).code;
        expect(['UNAVAILABLE', 'TIMEOUT']).toContain(code); // refused, or waited out the outage
        if (code === 'TIMEOUT') uncertain++;
      }
      await settle(10);
    }
  });
  return {
    watchers,
    /** Ends the runs and lets the last callbacks land: how many runs were acknowledged, and how many may have applied unacknowledged (TIMEOUT). */
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await settle(1_000);
      return { acked, uncertain };
    },
  };
}
