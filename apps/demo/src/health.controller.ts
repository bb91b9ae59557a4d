import { BadRequestException, Controller, Get, HttpException, HttpStatus, Query } from '@nestjs/common';
import { DuplexHealth } from '@nest-duplex/server';

@Controller()
export class HealthController {
  constructor(private readonly node: DuplexHealth) {}

  /**
   * 200 when the node can serve (bus connected, shared state caught up), 503 otherwise.
   * `?recent=N`: bus latencies over the last N messages only (default: the 2,048 held).
   */
  @Get('health')
  health(@Query('recent') recent?: string) {
    const recentLatency = recent === undefined ? undefined : Number(recent);
    if (recentLatency !== undefined && !(Number.isSafeInteger(recentLatency) && recentLatency > 0)) {
      throw new BadRequestException({ code: 'BAD_REQUEST', message: 'recent is a whole number of messages above 0' });
    }
    const { ready, ...report } = this.node.report(recentLatency);
    const body = { status: ready ? 'ok' : report.draining ? 'draining' : 'unavailable', ...report };
    if (!ready) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
