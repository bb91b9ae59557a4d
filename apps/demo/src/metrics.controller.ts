import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { DuplexMetrics } from '@nest-duplex/server';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: DuplexMetrics) {}

  /** Prometheus text format: connections, sessions, calls and callbacks by outcome, bus and state latency. */
  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.text();
  }
}
