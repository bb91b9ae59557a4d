import { type ServerProcess, SubscriberGroup } from './processes';
import { connectPublisher, type Publisher } from './publisher';
import type { SubscriberRequest, SystemKind } from './subscribers';
import { type BenchEnv, type SocketIoAdapter, startCluster, stopCluster } from './systems';

type GroupRequest = Omit<Extract<SubscriberRequest, { type: 'connect' }>, 'type' | 'kind'>;

/**
 * What one benchmark scenario runs on: `nodes` servers of one kind, and the
 * subscriber groups and publishers it starts on them. Everything it started
 * is stopped when the scenario ends, however it ends (see `scenario`).
 */
export class Scenario {
  private readonly groups: SubscriberGroup[] = [];
  private readonly publishers: Publisher[] = [];

  constructor(
    readonly kind: SystemKind,
    readonly servers: ServerProcess[],
  ) {}

  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  /** A group of subscribed clients in a process of its own. */
  async subscribers(request: GroupRequest): Promise<SubscriberGroup> {
    const group = await SubscriberGroup.start({ type: 'connect', kind: this.kind, ...request });
    this.groups.push(group);
    return group;
  }

  async publisher(url = this.urls[0]): Promise<Publisher> {
    const publisher = await connectPublisher(this.kind, url);
    this.publishers.push(publisher);
    return publisher;
  }

  async stop(): Promise<void> {
    for (const publisher of this.publishers.splice(0)) publisher.close();
    await Promise.all(this.groups.splice(0).map((group) => group.stop()));
    await stopCluster(this.servers);
  }
}

export interface ScenarioSetup {
  kind: SystemKind;
  nodes: number;
  env: BenchEnv;
  /** How Socket.IO's servers are joined; default the classic Redis adapter. */
  adapter?: SocketIoAdapter;
}

/** Starts the servers, runs `body` on them, and stops everything it started. */
export async function scenario<T>({ kind, nodes, env, adapter }: ScenarioSetup, body: (scenario: Scenario) => Promise<T>): Promise<T> {
  const running = new Scenario(kind, await startCluster(kind, nodes, env, adapter));
  try {
    return await body(running);
  } finally {
    await running.stop();
  }
}
