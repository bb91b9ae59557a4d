import { rssKiB, type ServerProcess } from './processes';
import { scenario } from './scenario';
import { round } from './stats';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

export interface MemoryResult {
  connections: number;
  /** Resident memory before any client, and 3 s after the clients connected. */
  idleKiB: number;
  loadedKiB: number;
  /** Gained per connection: resident, the handshakes' garbage and the allocator's slack included. */
  perConnectionKiB: number;
  /** Live memory (V8 heap in use, and memory outside it that JS objects hold) after a full collection, before and after. */
  idleLiveKiB: number;
  loadedLiveKiB: number;
  /** Gained per connection: what an idle connection keeps alive. */
  livePerConnectionKiB: number;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live memory after a full collection: the bench's servers serve POST /gc. */
async function liveKiB(server: ServerProcess): Promise<number> {
  const response = await fetch(`${server.url}/gc`, { method: 'POST' });
  if (!response.ok) throw new Error(`POST ${server.url}/gc answered ${response.status}`);
  const usage = (await response.json()) as NodeJS.MemoryUsage;
  return (usage.heapUsed + usage.external) / 1024;
}

/** Memory a server gains per idle connected client (this project: one session each). */
export function memoryPerConnection(kind: SystemKind, env: BenchEnv, connections: number): Promise<MemoryResult> {
  return scenario({ kind, nodes: 1, env, adapter: 'none' }, async (cluster) => {
    const [server] = cluster.servers;
    await settle(1_500);
    const idleKiB = rssKiB(server.pid);
    const idleLiveKiB = await liveKiB(server);
    for (let g = 0; g < 2; g++) await cluster.subscribers({ urls: [server.url], count: connections / 2 });
    await settle(3_000);
    // Resident first: the collection that weighs live memory changes it.
    const loadedKiB = rssKiB(server.pid);
    const loadedLiveKiB = await liveKiB(server);
    return {
      connections,
      idleKiB,
      loadedKiB,
      perConnectionKiB: round((loadedKiB - idleKiB) / connections),
      idleLiveKiB: round(idleLiveKiB),
      loadedLiveKiB: round(loadedLiveKiB),
      livePerConnectionKiB: round((loadedLiveKiB - idleLiveKiB) / connections),
    };
  });
}
