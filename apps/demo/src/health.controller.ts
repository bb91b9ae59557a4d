import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import { DuplexNode } from '../../../libs/duplex/src';

@Controller()
export class HealthController {
  constructor(private readonly node: DuplexNode) {}

  /** 200 when the node can serve (bus connected, shared state caught up), 503 otherwise. */
  @Get('health')
  health() {
    const body = {
      status: this.node.ready ? 'ok' : 'unavailable',
      nodeId: this.node.nodeId,
      sessions: this.node.sessions.size,
      nodes: this.node.presence.liveNodes(),
      bus: this.node.bus.stats(),
      state: { ready: this.node.store.ready, position: this.node.store.position },
    };
    if (!this.node.ready) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
