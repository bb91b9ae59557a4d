import { Module } from '@nestjs/common';
import { DuplexModule } from '@nest-duplex/server';
import { AuthModule } from './auth/auth.module';
import { DemoAuthenticator } from './auth/demo-authenticator';
import { BeerInventoryService } from './beer-inventory/beer-inventory.service';
import { DrainController } from './drain.controller';
import { EchoService } from './echo/echo.service';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { SeatBookingService } from './seat-booking/seat-booking.service';
import { StatusService } from './status/status.service';

@Module({
  imports: [AuthModule, DuplexModule.forRoot({ authenticate: DemoAuthenticator })],
  controllers: [HealthController, MetricsController, DrainController],
  providers: [StatusService, BeerInventoryService, SeatBookingService, EchoService],
})
export class AppModule {}
