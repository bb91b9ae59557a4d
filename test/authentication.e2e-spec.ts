import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Global, Injectable, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { DuplexClient, type SessionFrame } from '@nest-duplex/client';
import {
  callback,
  defineContract,
  DuplexContext,
  DuplexError,
  DuplexModule,
  DuplexService,
  operation,
  type DuplexAuthenticator,
  type DuplexHandshake,
} from '@nest-duplex/server';

/** Stands in for a users service (or @nestjs/jwt): the authenticator injects it. */
@Injectable()
class TokenBook {
  private readonly users: Record<string, { sub: string; name: string }> = {
    'ada-token': { sub: 'u-ada', name: 'Ada' },
    'bob-token': { sub: 'u-bob', name: 'Bob' },
  };
  lookup(token: string | undefined) {
    return token === undefined ? undefined : this.users[token];
  }
}

@Global()
@Module({ providers: [TokenBook], exports: [TokenBook] })
class UsersModule {}

@Injectable()
class TokenAuthenticator implements DuplexAuthenticator {
  constructor(private readonly book: TokenBook) {}
  authenticate(token: string | undefined, handshake: DuplexHandshake) {
    const user = this.book.lookup(token);
    if (!user) throw new DuplexError('UNAUTHENTICATED', 'unknown token');
    return { ...user, from: typeof handshake.address };
  }
}

const roomsContract = defineContract({
  name: 'rooms',
  operations: {
    me: operation.requestReply(z.tuple([]), z.string()),
    enter: operation.requestReply(z.tuple([z.string()]), z.boolean()),
    tell: operation.oneWay(z.tuple([z.string(), z.string()])),
    online: operation.requestReply(z.tuple([z.string()]), z.number()),
  },
  callbacks: { said: callback.oneWay(z.tuple([z.string()])) },
});

@DuplexService(roomsContract)
class RoomsService {
  constructor(private readonly duplex: DuplexContext) {}
  me(): string {
    return (this.duplex.session.identity as { name: string }).name;
  }
  async enter(room: string): Promise<boolean> {
    await this.duplex.subscribe(room);
    return true;
  }
  async tell(userId: string, text: string): Promise<void> {
    await this.duplex.callbacks(roomsContract).user(userId).said(text);
  }
  online(userId: string): number {
    return this.duplex.isOnline(userId) ? this.duplex.sessionsOf(userId).length : 0;
  }
}

@Module({
  imports: [
    UsersModule,
    DuplexModule.forRoot({
      amqp: false, // one node, whatever AMQP_URL the cluster suites set
      authenticate: TokenAuthenticator,
      // Private rooms are their owner's: `private:<sub>`.
      authorizeSubscription: (session, topic) => !topic.startsWith('private:') || topic === `private:${(session.identity as { sub: string }).sub}`,
      allowedOrigins: ['https://app.example'],
    }),
  ],
  providers: [RoomsService],
})
class RoomsApp {}

describe('authentication and authorization', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Array<{ close(): void }> = [];
  const client = async (token?: string) => {
    const c = await DuplexClient.connect(url, { token, socket: { reconnection: false } });
    sockets.push(c);
    return c;
  };
  /** A raw handshake: its first session frame, or its connect_error. */
  const handshake = (auth: Record<string, unknown>, headers: Record<string, string> = {}) =>
    new Promise<{ frame?: SessionFrame; error?: { message: string; data?: unknown } }>((resolve) => {
      const socket: Socket = io(url, { transports: ['websocket'], reconnection: false, auth, extraHeaders: headers });
      sockets.push(socket);
      socket.once('session', (frame: SessionFrame) => resolve({ frame }));
      socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ error }));
    });

  beforeAll(async () => {
    app = await NestFactory.create(RoomsApp, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await app.close();
  });

  it('makes the identity with an authenticator class that Nest builds with its dependencies', async () => {
    const ada = (await client('ada-token')).service(roomsContract, { said: () => undefined });
    await expect(ada.me()).resolves.toBe('Ada');
  });

  it('refuses a handshake without a valid token: UNAUTHENTICATED, no session', async () => {
    await expect(client()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await handshake({ token: 'forged' })).error?.data).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('resumes a session only for the identity that opened it; another gets a session of its own', async () => {
    const first = await handshake({ token: 'ada-token' });
    const token = first.frame!.session;
    const bob = await handshake({ token: 'bob-token', session: token });
    expect(bob.frame).toMatchObject({ resumed: false });
    expect(bob.frame!.sessionId).not.toBe(first.frame!.sessionId);
    const ada = await handshake({ token: 'ada-token', session: token });
    expect(ada.frame).toMatchObject({ resumed: true, sessionId: first.frame!.sessionId });
  });

  it('lets a session subscribe only to topics its identity may see', async () => {
    const bob = (await client('bob-token')).service(roomsContract, { said: () => undefined });
    await expect(bob.enter('lobby')).resolves.toBe(true);
    await expect(bob.enter('private:u-bob')).resolves.toBe(true);
    await expect(bob.enter('private:u-ada')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("reaches every session of a user, and only theirs; the user's topic is not the services' to take", async () => {
    const heard: string[] = [];
    const adas = await Promise.all([1, 2].map(async (n) => (await client('ada-token')).service(roomsContract, { said: (t) => void heard.push(`ada${n}: ${t}`) })));
    const bob = (await client('bob-token')).service(roomsContract, { said: (t) => void heard.push(`bob: ${t}`) });
    expect(await bob.online('u-ada')).toBeGreaterThanOrEqual(2);
    expect(await bob.online('u-nobody')).toBe(0);
    await bob.tell('u-ada', 'hi');
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.filter((h) => h.endsWith(': hi')).sort()).toEqual(['ada1: hi', 'ada2: hi']);
    await expect(adas[0].enter('~user:u-bob')).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  });

  it('refuses browsers of origins that are not allowed, over WebSocket too, and admits its own and the allowed ones', async () => {
    const host = new URL(url).host;
    expect((await handshake({ token: 'ada-token' }, { origin: 'http://evil.example' })).error).toBeDefined();
    expect((await handshake({ token: 'ada-token' }, { origin: 'null' })).error).toBeDefined();
    expect((await handshake({ token: 'ada-token' }, { origin: 'https://app.example' })).frame).toBeDefined();
    expect((await handshake({ token: 'ada-token' }, { origin: `http://${host}` })).frame).toBeDefined();
    const polling = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://evil.example' } });
    expect(polling.status).toBe(403);
    expect(polling.headers.get('access-control-allow-origin')).toBeNull();
  });
});
