import { ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { SubscriberReport, SubscriberRequest, SystemKind } from './subscribers';

/** Every process the benchmark started, so that any exit path stops them all. */
const started = new Set<ChildProcess>();

export function stopAll(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const SCRIPTS: Record<SystemKind, string> = {
  duplex: join(__dirname, 'relay', 'relay-node.js'),
  socketio: join(__dirname, 'socketio', 'socketio-node.js'),
};

/** Extra node flags for servers or client groups, e.g. BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=.bench/profiles". */
const nodeArgs = (variable: string) => (process.env[variable] ?? '').split(' ').filter(Boolean);

/** Starts a server of `kind` and waits until its /health answers 200. */
export async function startServer(kind: SystemKind, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  // --expose-gc: POST /gc lets the memory bench collect garbage before it weighs.
  const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs('BENCH_SERVER_ARGS'), SCRIPTS[kind]], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  started.add(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${kind} server at ${url} not healthy in 20 s`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid!, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process, in KiB (Linux). */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** CPU time a process has used so far, user and system, in ms (Linux, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  // Fields after the command name: state is field 3, utime 14 and stime 15 of /proc/<pid>/stat.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A forked group of subscribed clients (see subscribers.ts). */
export class SubscriberGroup {
  private constructor(private readonly child: ChildProcess) {}

  static async start(request: Extract<SubscriberRequest, { type: 'connect' }>): Promise<SubscriberGroup> {
    const child = fork(join(__dirname, 'subscribers.js'), [], {
      execArgv: nodeArgs('BENCH_CLIENT_ARGS'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    started.add(child);
    const group = new SubscriberGroup(child);
    const answer = await group.ask<{ type: string; message?: string }>(request, ['connected', 'failed']);
    if (answer.type === 'failed') throw new Error(`subscribers could not connect: ${answer.message}`);
    return group;
  }

  get pid(): number {
    return this.child.pid!;
  }

  reset(keepSamples: boolean): Promise<unknown> {
    return this.ask({ type: 'reset', keepSamples }, ['reset']);
  }

  report(samples = false): Promise<SubscriberReport> {
    return this.ask({ type: 'report', samples }, ['report']);
  }

  stop(): Promise<void> {
    return stop(this.child);
  }

  private ask<T>(request: SubscriberRequest, answers: string[]): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (!answers.includes(message.type)) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`subscriber group exited (${code})`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(request);
    });
  }
}

/** Sums the reports of several groups. */
export async function collect(groups: SubscriberGroup[], samples = false): Promise<{ delivered: number; last: number; samples: number[] }> {
  const reports = await Promise.all(groups.map((group) => group.report(samples)));
  return {
    delivered: reports.reduce((sum, r) => sum + r.delivered, 0),
    last: Math.max(...reports.map((r) => r.last)),
    samples: reports.flatMap((r) => r.samples),
  };
}

/** Waits until `expected` deliveries arrived, or 5 s without reaching them. */
export async function drained(groups: SubscriberGroup[], expected: number, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await collect(groups);
    if (report.delivered >= expected || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 50));
  }
}
