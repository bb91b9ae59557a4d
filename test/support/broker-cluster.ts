import { PrivateBroker } from './private-broker';

/**
 * A RabbitMQ cluster of the suite's own: `size` private brokers on this
 * machine, joined to the first. Tests kill and restart its members; the
 * machine's shared broker is never touched.
 */
export class BrokerCluster {
  private constructor(readonly brokers: PrivateBroker[]) {}

  static async start(size = 3): Promise<BrokerCluster> {
    const brokers: PrivateBroker[] = [];
    try {
      for (let i = 0; i < size; i++) brokers.push(await PrivateBroker.create());
      // One at a time: Erlang's start-up takes most of a core for a few seconds.
      for (const broker of brokers) await broker.start();
      for (const broker of brokers.slice(1)) broker.joinCluster(brokers[0]);
      const cluster = new BrokerCluster(brokers);
      await cluster.allRunning();
      return cluster;
    } catch (error) {
      await Promise.all(brokers.map((broker) => broker.destroy()));
      throw error;
    }
  }

  /** Starts a member that was stopped or killed; it rejoins the cluster by itself. */
  async restart(broker: PrivateBroker): Promise<void> {
    await broker.start();
    await this.allRunning();
  }

  private async allRunning(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await this.ctl(['cluster_status', '--formatter', 'json']);
      const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
      if (running.length === this.brokers.length) return;
      if (Date.now() > deadline) throw new Error(`the broker cluster runs ${running.length} of ${this.brokers.length} members: ${status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Every member's URL, comma-separated, as AMQP_URL takes a cluster. */
  get url(): string {
    return this.brokers.map((broker) => broker.url).join(',');
  }

  /** The member named `node@host` (as the broker reports leaders and queue homes). */
  member(nodeName: string): PrivateBroker {
    const broker = this.brokers.find((b) => b.nodeName === nodeName);
    if (!broker) throw new Error(`no member ${nodeName} in ${this.brokers.map((b) => b.nodeName).join(', ')}`);
    return broker;
  }

  /** The member a queue lives on: a replicated one's leader, a classic one's home. Asks the members that are up. */
  async homeOf(queue: string): Promise<PrivateBroker> {
    for (const broker of this.brokers) {
      if (!(await broker.listening())) continue;
      const local = JSON.parse(broker.ctl(['list_queues', '--local', 'name', 'leader', '--formatter', 'json'])) as Array<{ name: string; leader: string }>;
      const entry = local.find((q) => q.name === queue);
      if (entry) return entry.leader ? this.member(entry.leader) : broker;
    }
    throw new Error(`no member that is up holds ${queue}`);
  }

  /** rabbitmqctl against the first member that is up. */
  async ctl(args: string[]): Promise<string> {
    for (const broker of this.brokers) if (await broker.listening()) return broker.ctl(args);
    throw new Error('no member of the broker cluster is up');
  }

  async destroy(): Promise<void> {
    await Promise.all(this.brokers.map((broker) => broker.destroy()));
  }
}
