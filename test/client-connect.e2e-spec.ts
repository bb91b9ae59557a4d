import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { DuplexClient } from '@nest-duplex/client';

/** The SDK against an address with no node behind it, as a load balancer with none in rotation answers. */
describe('DuplexClient.connect without reconnection', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((_, response) => response.writeHead(503).end('no node'));
    server.on('upgrade', (_, socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => void server.close());

  it('rejects with UNAVAILABLE on a transport error instead of waiting forever', async () => {
    const connecting = DuplexClient.connect(url, { socket: { reconnection: false }, onError: () => undefined });
    await expect(connecting).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^could not connect: /) });
  });
});
