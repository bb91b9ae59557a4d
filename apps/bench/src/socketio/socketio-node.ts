/**
 * The baseline users compare us with: a bare Socket.IO server, with the Redis
 * adapter when REDIS_URL is set (the classic one, where every server gets
 * every broadcast; the sharded one, a channel per room, with REDIS_SHARDED=1).
 * `join` puts the socket in a room; `publish` broadcasts to the room on
 * every server.
 */
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer((request, response) => {
  if (request.url === '/health') return response.writeHead(200).end();
  // As the relay node's GcController (see there): for the memory bench, with --expose-gc.
  if (request.url === '/gc' && request.method === 'POST' && global.gc) {
    global.gc({ type: 'major', execution: 'sync' });
    return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(process.memoryUsage()));
  }
  response.writeHead(404).end();
});
const io = new Server(http, { transports: ['websocket'] });

if (process.env.REDIS_URL) {
  const pub = new Redis(process.env.REDIS_URL);
  const sub = pub.duplicate();
  const key = process.env.REDIS_KEY ?? 'socket.io';
  io.adapter(
    process.env.REDIS_SHARDED === '1'
      ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: 'dynamic' })
      : createAdapter(pub, sub, { key }),
  );
}

io.on('connection', (socket) => {
  socket.on('join', (room: string, ack: () => void) => {
    void socket.join(room);
    ack();
  });
  socket.on('publish', (room: string, payload: string) => {
    io.to(room).emit('message', payload);
  });
});

http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => io.close(() => process.exit(0)));
