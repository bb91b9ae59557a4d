import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { DuplexClient } from '@nest-duplex/client';
import { DuplexModule } from '@nest-duplex/server';
import { DUPLEX_OPTIONS, DuplexOptionsError, type ResolvedDuplexOptions } from '@nest-duplex/server/internal';

/** DuplexModule configured the Nest way, in an app of this process. */
describe('DuplexModule options', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('takes its options from ConfigService through forRootAsync, and serves', async () => {
    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ duplex: { sessionGraceMs: 1_234, secret: 'from-config' } })] }),
        DuplexModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({ ...config.get('duplex'), nodeId: 'configured', amqp: false }),
        }),
      ],
    })
    class ConfiguredApp {}
    app = await NestFactory.create(ConfiguredApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    expect(app.get<ResolvedDuplexOptions>(DUPLEX_OPTIONS)).toMatchObject({ sessionGraceMs: 1_234, secret: 'from-config', nodeId: 'configured' });
    const client = await DuplexClient.connect(`http://127.0.0.1:${app.getHttpServer().address().port}`);
    try {
      expect(await client.ready()).toMatchObject({ nodeId: 'configured', resumed: false });
    } finally {
      client.close();
    }
  });

  it('refuses at start-up options that contradict each other, saying which and why', async () => {
    @Module({ imports: [DuplexModule.forRoot({ amqp: false, heartbeatMs: 1_000, heartbeatTimeoutMs: 1_200 })] })
    class Contradictory {}
    const starting = NestFactory.create(Contradictory, { logger: false, abortOnError: false });
    await expect(starting).rejects.toThrow(DuplexOptionsError);
    await expect(starting).rejects.toThrow(/heartbeatTimeoutMs \(1200\) must be at least twice heartbeatMs \(1000\)/);
  });
});
