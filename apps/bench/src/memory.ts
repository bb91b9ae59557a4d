import { rssKiB, SubscriberGroup } from './processes';
import { round } from './stats';
import { BenchEnv, startCluster, stopCluster } from './systems';
import type { SystemKind } from './subscribers';

export interface MemoryResult {
  connections: number;
  idleKiB: number;
  loadedKiB: number;
  perConnectionKiB: number;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory a server gains per idle connected client (this project: one session each). */
export async function memoryPerConnection(kind: SystemKind, env: BenchEnv, connections: number): Promise<MemoryResult> {
  const [server] = await startCluster(kind, 1, env, true);
  const groups: SubscriberGroup[] = [];
  try {
    await settle(1_500);
    const idleKiB = rssKiB(server.pid);
    for (let g = 0; g < 2; g++) groups.push(await SubscriberGroup.start({ type: 'connect', kind, urls: [server.url], count: connections / 2 }));
    await settle(3_000);
    const loadedKiB = rssKiB(server.pid);
    return { connections, idleKiB, loadedKiB, perConnectionKiB: round((loadedKiB - idleKiB) / connections) };
  } finally {
    await Promise.all(groups.map((group) => group.stop()));
    await stopCluster([server]);
  }
}
