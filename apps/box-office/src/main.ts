import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DuplexEmitterModule } from '@nest-duplex/server/emitter';
import { BoxOffice } from './box-office.service';

/** A worker beside the nodes: an application context, no HTTP, no Socket.IO, not a node. */
@Module({ imports: [DuplexEmitterModule.forRoot()], providers: [BoxOffice] })
class BoxOfficeModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(BoxOfficeModule);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
