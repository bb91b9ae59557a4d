import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NodeLogger } from '@nest-duplex/server';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  // Chosen here, not in DuplexModule, so that the logger names the node from the first line.
  process.env.NODE_ID ||= `node-${randomBytes(4).toString('hex')}`;
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: NodeLogger.fromEnv(process.env.NODE_ID) });
  // Not every signal Nest knows: SIGUSR2 and the like are for diagnostics
  // (--heapsnapshot-signal), and must not stop the node.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  // The demo page, bundled by scripts/build-web.js beside the compiled server.
  app.useStaticAssets(join(__dirname, '..', 'web'));
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '0.0.0.0';
  await app.listen(port, host);
  new Logger('Demo').log(`listening on http://${host}:${port} (Socket.IO at /socket.io)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
