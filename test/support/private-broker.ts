import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './node-process';

/**
 * A RabbitMQ node of the suite's own, beside the machine's shared broker, on
 * its own ports and data folder, so a test can stop and restart it without
 * disturbing anyone. Needs rabbitmq-server installed (Debian: rabbitmq-server).
 */
export class PrivateBroker {
  readonly nodeName: string;
  private readonly base: string;
  /** When it last started listening. */
  startedAt = 0;

  private constructor(
    readonly port: number,
    private readonly distPort: number,
  ) {
    this.nodeName = `duplex-test-${port}@localhost`;
    this.base = mkdtempSync(join(tmpdir(), 'duplex-rabbit-'));
    writeFileSync(join(this.base, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`);
    if (asRabbitmq()) execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', this.base]);
  }

  static async create(): Promise<PrivateBroker> {
    if (spawnSync('which', ['rabbitmq-server']).status !== 0) {
      throw new Error('this suite starts a RabbitMQ of its own and needs rabbitmq-server (apt-get install rabbitmq-server)');
    }
    return new PrivateBroker(await freePort(), await freePort());
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.run('rabbitmq-server', ['-detached']);
    const deadline = Date.now() + 60_000;
    while (!(await listening(this.port))) {
      if (Date.now() > deadline) throw new Error(`private RabbitMQ did not listen on ${this.port} within 60 s; see ${this.base}/log`);
      await new Promise((r) => setTimeout(r, 250));
    }
    this.startedAt = Date.now();
  }

  /** Stops the node (all connections drop) and waits until its port is closed. */
  async stop(): Promise<void> {
    this.run('rabbitmqctl', ['-n', this.nodeName, 'stop']);
    const deadline = Date.now() + 30_000;
    while (await listening(this.port)) {
      if (Date.now() > deadline) throw new Error('private RabbitMQ did not stop');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL of the broker's own process (by its pid file): no goodbye to any client, nothing flushed on purpose. */
  async kill(): Promise<void> {
    const pid = Number(readFileSync(join(this.base, 'rabbit.pid'), 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no broker pid in ${this.base}/rabbit.pid`);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (await listening(this.port)) {
      if (Date.now() > deadline) throw new Error('private RabbitMQ did not die');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Makes this (running) broker a member of `seed`'s cluster; what it held alone is reset. */
  joinCluster(seed: PrivateBroker): void {
    this.ctl(['stop_app']);
    this.ctl(['reset']);
    this.ctl(['join_cluster', seed.nodeName]);
    this.ctl(['start_app']);
  }

  /** rabbitmqctl against this broker, failing loudly. */
  ctl(args: string[]): string {
    return this.run('rabbitmqctl', ['-n', this.nodeName, ...args], true);
  }

  /** Closes every client connection named `name` (its client's connection_name), as a network blip would; the broker stays up. */
  closeConnections(name: string): number {
    const listed = this.run('rabbitmqctl', ['-n', this.nodeName, 'list_connections', 'pid', 'client_properties', '--quiet', '--no-table-headers']);
    const pids = listed
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([pid, properties]) => pid && properties?.includes(`{"connection_name","${name}"}`))
      .map(([pid]) => pid);
    for (const pid of pids) this.run('rabbitmqctl', ['-n', this.nodeName, 'close_connection', pid, 'test: a network blip']);
    return pids.length;
  }

  listening(): Promise<boolean> {
    return listening(this.port);
  }

  async destroy(): Promise<void> {
    if (await listening(this.port)) await this.stop().catch(() => undefined);
    rmSync(this.base, { recursive: true, force: true });
  }

  private run(command: string, args: string[], strict = command !== 'rabbitmqctl'): string {
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONFIG_FILE: join(this.base, 'rabbitmq'),
      RABBITMQ_MNESIA_BASE: join(this.base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.base, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.base, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.base, 'rabbit.pid'),
    };
    // The broker refuses to run as root: drop to the rabbitmq user when we are root.
    const [file, argv] = asRabbitmq()
      ? ['runuser', ['-u', 'rabbitmq', '--', 'env', 'HOME=/var/lib/rabbitmq', command, ...args]]
      : [command, args];
    const result = spawnSync(file, argv, { env, encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0 && strict) {
      throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
    }
    return result.stdout ?? '';
  }
}

function asRabbitmq(): boolean {
  return process.getuid?.() === 0;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
