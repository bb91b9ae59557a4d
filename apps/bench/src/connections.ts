import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { ConnectorReport, ConnectorRequest } from './connector';
import { cpuMs } from './processes';
import { scenario } from './scenario';
import { round } from './stats';
import type { BenchEnv } from './systems';
import type { SystemKind } from './subscribers';

export interface ConnectionOptions {
  clients: number;
  concurrency: number;
  topics: number;
}

export interface ConnectionResult extends ConnectorReport {
  /** CPU of both servers per handshake (connects and resumes alike), µs. */
  serverMicros: number;
}

/**
 * `clients` connect to the first of two nodes, `concurrency` at a time, each
 * joining one of `topics` topics; then each drops its transport and resumes
 * on the second node (Socket.IO: reconnects and joins again).
 */
export function connectionRate(kind: SystemKind, env: BenchEnv, options: ConnectionOptions): Promise<ConnectionResult> {
  return scenario({ kind, nodes: 2, env }, async ({ servers }) => {
    const child = fork(join(__dirname, 'connector.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      // Both nodes see each other before the first client comes.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const report = new Promise<ConnectorReport>((resolve, reject) => {
        child.once('message', (message: { report?: ConnectorReport; message?: string }) =>
          message.report ? resolve(message.report) : reject(new Error(`connector: ${message.message}`)),
        );
        child.once('exit', (code) => reject(new Error(`connector exited (${code})`)));
      });
      const cpu = () => servers.reduce((sum, server) => sum + cpuMs(server.pid), 0);
      const before = cpu();
      child.send({ kind, urls: [servers[0].url, servers[1].url], count: options.clients, concurrency: options.concurrency, topics: options.topics } satisfies ConnectorRequest);
      const measured = await report;
      return { ...measured, serverMicros: round(((cpu() - before) * 1000) / (2 * options.clients)) };
    } finally {
      child.kill('SIGKILL');
    }
  });
}
