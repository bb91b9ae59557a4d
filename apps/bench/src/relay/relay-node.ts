/** A node as users deploy one (DuplexModule, /health), hosting only the benchmark's relay service. */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthController } from '../../../demo/src/health.controller';
import { MetricsController } from '../../../demo/src/metrics.controller';
import { DuplexModule } from '@nest-duplex/server/internal';
import { GcController } from './gc.controller';
import { RelayService } from './relay.service';

@Module({
  // The bench publishes from one session at thousands of calls a second: no per-session rate limit,
  // unless DUPLEX_CALLS_PER_SECOND asks for one (the pressure bench measures the limit as shipped).
  imports: [DuplexModule.forRoot(process.env.DUPLEX_CALLS_PER_SECOND ? {} : { callsPerSecond: 0 })],
  controllers: [HealthController, MetricsController, GcController],
  providers: [RelayService],
})
class RelayModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(RelayModule, { logger: ['warn', 'error'] });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
