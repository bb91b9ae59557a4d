import { drained, type SubscriberGroup } from './processes';
import { pace } from './publisher';
import { scenario } from './scenario';
import { now, round } from './stats';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

export interface RampOptions {
  subscribers: number;
  /** Subscriber processes the clients are spread over. */
  groups: number;
  /** Publishes per second of the first step; each next step multiplies it by `factor`. */
  startRate: number;
  factor: number;
  stepMs: number;
  maxSteps: number;
  /** A step kept up if everything arrived within this long after the last publish. */
  tailMs: number;
}

export interface RampStep {
  publishesPerSecond: number;
  offeredPerSecond: number;
  deliveredPerSecond: number;
  lost: number;
  tailMs: number;
  keptUp: boolean;
}

export interface FanoutResult {
  nodes: number;
  subscribers: number;
  /** The highest offered rate (deliveries per second, every client counted) delivered in full and on time. */
  sustainedPerSecond: number;
  steps: RampStep[];
}

/**
 * One publisher on the first node, `subscribers` clients spread over all
 * nodes, all in one topic. The publish rate grows step by step until
 * delivery falls behind.
 */
export function fanoutRamp(kind: SystemKind, env: BenchEnv, nodes: number, options: RampOptions): Promise<FanoutResult> {
  return scenario({ kind, nodes, env }, async (cluster) => {
    const { urls } = cluster;
    const groups: SubscriberGroup[] = [];
    for (let g = 0; g < options.groups; g++) {
      const count = Math.ceil(options.subscribers / options.groups);
      // Rotate so the groups together spread evenly over the nodes.
      const rotated = urls.map((_, i) => urls[(i + g) % urls.length]);
      groups.push(await cluster.subscribers({ urls: rotated, count, topic: 'fanout' }));
    }
    const subscribers = Math.ceil(options.subscribers / options.groups) * options.groups;
    const publisher = await cluster.publisher();
    const steps: RampStep[] = [];
    let rate = options.startRate;
    for (let i = 0; i < options.maxSteps; i++) {
      await Promise.all(groups.map((group) => group.reset(false)));
      const started = now();
      const { sent, lastSend } = await pace(rate, options.stepMs, () => publisher.publish('fanout'));
      const expected = sent * subscribers;
      const report = await drained(groups, expected, options.tailMs + 3_000);
      const tailMs = round(Math.max(0, report.last - lastSend));
      const step: RampStep = {
        publishesPerSecond: round(rate),
        offeredPerSecond: round((expected / (lastSend - started)) * 1000),
        deliveredPerSecond: round((report.delivered / (Math.max(report.last, lastSend) - started)) * 1000),
        lost: expected - report.delivered,
        tailMs,
        keptUp: report.delivered === expected && tailMs <= options.tailMs,
      };
      steps.push(step);
      if (!step.keptUp) break;
      rate *= options.factor;
      await new Promise((r) => setTimeout(r, 200));
    }
    const kept = steps.filter((step) => step.keptUp);
    return { nodes, subscribers, sustainedPerSecond: kept.length ? Math.max(...kept.map((s) => s.deliveredPerSecond)) : 0, steps };
  });
}
