import { Controller, NotFoundException, Post } from '@nestjs/common';

/**
 * `POST /gc` runs a full garbage collection and answers
 * `process.memoryUsage()`, so the memory bench can weigh what connections
 * keep rather than what their handshakes left behind. Only with
 * `--expose-gc`, which the bench gives its servers.
 */
@Controller()
export class GcController {
  @Post('gc')
  collect(): NodeJS.MemoryUsage {
    if (!global.gc) throw new NotFoundException({ code: 'NOT_FOUND', message: 'start the node with --expose-gc' });
    global.gc({ type: 'major', execution: 'sync' });
    return process.memoryUsage();
  }
}
