import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type ArgumentsHost,
  type CallHandler,
  Catch,
  ConflictException,
  type ExceptionFilter,
  type ExecutionContext,
  ForbiddenException,
  GoneException,
  HttpException,
  HttpStatus,
  Injectable,
  InternalServerErrorException,
  type INestApplication,
  Module,
  type NestInterceptor,
  NotFoundException,
  ParseIntPipe,
  PayloadTooLargeException,
  ServiceUnavailableException,
  SetMetadata,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory, Reflector } from '@nestjs/core';
import { map, type Observable } from 'rxjs';
import { z } from 'zod';
import { DuplexClient } from '@nest-duplex/client';
import { callback, defineContract, DUPLEX_CONTEXT, duplexCall, DuplexModule, DuplexService, operation } from '@nest-duplex/server';

const vaultContract = defineContract({
  name: 'vault',
  operations: {
    whoAmI: operation.requestReply(z.tuple([]), z.string()),
    deposit: operation.requestReply(z.tuple([z.string().max(20)]), z.number()),
    open: operation.requestReply(z.tuple([z.string()]), z.string()),
    lock: operation.oneWay(z.tuple([z.string()])),
    fail: operation.requestReply(z.tuple([z.string()]), z.string()),
    jam: operation.requestReply(z.tuple([]), z.string()),
  },
  callbacks: { noop: callback.oneWay(z.tuple([])) },
});

const OWNER_ONLY = 'vault:owner-only';
const OwnerOnly = () => SetMetadata(OWNER_ONLY, true);

/** Lets only the owner through where the method says so: it reads the identity from the duplex call. */
@Injectable()
class OwnerGuard {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    if (!this.reflector.get<boolean>(OWNER_ONLY, context.getHandler())) return true;
    return duplexCall(context).identity === 'owner';
  }
}

/** Says in every answer of the class that it passed here. */
@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => (typeof value === 'string' ? `${value} (stamped)` : value)));
  }
}

/** Global: records what every duplex call looked like to an enhancer. */
const seen: Array<{ type: string; service: string; operation: string; args: unknown[]; identity: unknown; session: boolean }> = [];
@Injectable()
class RecordingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<string>() === DUPLEX_CONTEXT) {
      const call = duplexCall(context);
      seen.push({ type: context.getType(), service: call.service, operation: call.operation, args: call.args, identity: call.identity, session: typeof call.session.id === 'string' });
    }
    return next.handle();
  }
}

class JammedError extends Error {}

@Catch(JammedError)
class JammedFilter implements ExceptionFilter {
  catch(error: JammedError, host: ArgumentsHost): string {
    return `unjammed after ${host.getArgs().length} args: ${error.message}`; // a filter's value answers the call
  }
}

@DuplexService(vaultContract)
@UseGuards(OwnerGuard)
@UseInterceptors(StampInterceptor)
class VaultService {
  whoAmI(): string {
    return 'vault';
  }

  @UsePipes(ParseIntPipe)
  deposit(amount: number): number {
    return amount * 2; // the pipe made the wire's string a number
  }

  @OwnerOnly()
  open(code: string): string {
    return `opened with ${code}`;
  }

  @OwnerOnly()
  lock(): void {
    locked++;
  }

  fail(kind: string): string {
    const exceptions: Record<string, Error> = {
      forbidden: new ForbiddenException('not yours'),
      unauthorized: new UnauthorizedException(),
      conflict: new ConflictException('taken'),
      notFound: new NotFoundException('no such box'),
      gone: new GoneException(),
      tooLarge: new PayloadTooLargeException(),
      unavailable: new ServiceUnavailableException('maintenance'),
      throttled: new HttpException('too many', HttpStatus.TOO_MANY_REQUESTS),
      internal: new InternalServerErrorException('database password is hunter2'),
    };
    throw exceptions[kind] ?? new Error('secret internals');
  }

  @UseFilters(JammedFilter)
  jam(): string {
    throw new JammedError('lever');
  }
}
let locked = 0;

@Module({
  imports: [DuplexModule.forRoot({ amqp: false, authenticate: (token) => token ?? 'guest' })],
  providers: [VaultService, OwnerGuard, { provide: APP_INTERCEPTOR, useClass: RecordingInterceptor }],
})
class VaultApp {}

/** A test app (not the demo) whose operations carry Nest's enhancers, spoken to over a real socket. */
describe("Nest's pipeline on operations", () => {
  let app: INestApplication;
  let url: string;
  const clients: DuplexClient[] = [];
  const vault = async (token: string) => {
    const client = await DuplexClient.connect(url, { token });
    clients.push(client);
    return client.service(vaultContract, { noop: () => undefined });
  };

  beforeAll(async () => {
    app = await NestFactory.create(VaultApp, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await app.close();
  });

  it('runs a class guard: the owner opens, anyone else is FORBIDDEN', async () => {
    await expect((await vault('owner')).open('1234')).resolves.toBe('opened with 1234 (stamped)');
    await expect((await vault('mallory')).open('1234')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("puts a guard's refusal of a one-way call in its ack, and the handler never runs", async () => {
    await expect((await vault('mallory')).lock('now')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(locked).toBe(0);
    await (await vault('owner')).lock('now');
    expect(locked).toBe(1);
  });

  it('runs a method pipe on each argument: a number arrives, a bad one is INVALID_ARGUMENTS', async () => {
    const v = await vault('owner');
    await expect(v.deposit('21')).resolves.toBe(42);
    await expect(v.deposit('lots')).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringMatching(/numeric string is expected/) });
  });

  it('runs a class interceptor around results, and a method filter that answers for the handler', async () => {
    const v = await vault('guest');
    await expect(v.whoAmI()).resolves.toBe('vault (stamped)');
    await expect(v.jam()).resolves.toBe('unjammed after 0 args: lever');
  });

  it('maps HttpExceptions to wire codes, with their messages below 500 only', async () => {
    const v = await vault('guest');
    const outcome = async (kind: string) => v.fail(kind).catch((e: { code: string; message: string }) => `${e.code}: ${e.message}`);
    expect(await outcome('forbidden')).toBe('FORBIDDEN: not yours');
    expect(await outcome('unauthorized')).toBe('UNAUTHENTICATED: Unauthorized');
    expect(await outcome('conflict')).toBe('CONFLICT: taken');
    expect(await outcome('notFound')).toBe('INVALID_ARGUMENTS: no such box');
    expect(await outcome('gone')).toBe('CONFLICT: Gone');
    expect(await outcome('tooLarge')).toBe('BAD_REQUEST: Payload Too Large');
    expect(await outcome('unavailable')).toBe('UNAVAILABLE: maintenance');
    expect(await outcome('throttled')).toBe('RESOURCE_EXHAUSTED: too many');
    expect(await outcome('internal')).toBe('INTERNAL: internal error');
    expect(await outcome('plain')).toBe('INTERNAL: internal error');
  });

  it('gives global enhancers an ExecutionContext of type "duplex" with the session, identity, operation and arguments', async () => {
    seen.length = 0;
    await (await vault('owner')).open('77');
    expect(seen).toEqual([{ type: 'duplex', service: 'vault', operation: 'open', args: ['77'], identity: 'owner', session: true }]);
  });
});
