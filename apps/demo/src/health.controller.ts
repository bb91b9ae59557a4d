import { Controller, Get } from '@nestjs/common';
import { DuplexNode } from '../../../libs/duplex/src';

@Controller()
export class HealthController {
  constructor(private readonly node: DuplexNode) {}

  @Get('health')
  health() {
    return { status: 'ok', nodeId: this.node.nodeId, sessions: this.node.sessions.size };
  }
}
