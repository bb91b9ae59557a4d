import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP load balancer on loopback, as the tests' stand-in for HAProxy
 * without stickiness: each new connection goes to the next backend that is
 * in rotation, and `dropAll` cuts every client's transport at once, so the
 * clients reconnect and land wherever the rotation puts them.
 */
export class Balancer {
  private readonly pairs = new Set<Socket>();
  private next = 0;
  private backends: number[];

  private constructor(
    private readonly server: Server,
    backends: number[],
  ) {
    this.backends = backends;
  }

  static async start(backends: number[]): Promise<Balancer> {
    const server = createServer();
    const balancer = new Balancer(server, backends);
    server.on('connection', (client) => balancer.forward(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** The backends new connections go to, in turn. */
  route(backends: number[]): void {
    this.backends = backends;
  }

  /** Cuts every open connection, as a balancer restart or a network blip would. */
  dropAll(): void {
    for (const socket of this.pairs) socket.destroy();
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(client: Socket): void {
    const port = this.backends[this.next++ % this.backends.length];
    const backend = connect(port, '127.0.0.1');
    for (const [a, b] of [
      [client, backend],
      [backend, client],
    ]) {
      this.pairs.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.pairs.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
