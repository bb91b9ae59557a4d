import { BadRequestException, Controller, Get, HttpException, HttpStatus, Query } from '@nestjs/common';
import { DuplexNode } from '../../../libs/duplex/src';

@Controller()
export class HealthController {
  constructor(private readonly node: DuplexNode) {}

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
    const body = {
      status: this.node.ready ? 'ok' : 'unavailable',
      nodeId: this.node.nodeId,
      sessions: this.node.sessions.size,
      nodes: this.node.presence.liveNodes(),
      bus: this.node.bus.stats(recentLatency),
      state: { ready: this.node.store.ready, position: this.node.store.position },
    };
    if (!this.node.ready) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
