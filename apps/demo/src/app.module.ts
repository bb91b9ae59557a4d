import { Module } from '@nestjs/common';
import { DuplexModule } from '@nest-duplex/server';
import { BeerInventoryService } from './beer-inventory/beer-inventory.service';
import { EchoService } from './echo/echo.service';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { SeatBookingService } from './seat-booking/seat-booking.service';
import { StatusService } from './status/status.service';

@Module({
  imports: [DuplexModule.forRoot()],
  controllers: [HealthController, MetricsController],
  providers: [StatusService, BeerInventoryService, SeatBookingService, EchoService],
})
export class AppModule {}
