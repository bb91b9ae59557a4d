import { Controller, ForbiddenException, Headers, HttpCode, NotFoundException, Post } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { NodeDrain } from '@nest-duplex/server';

/**
 * `POST /drain` with `Authorization: Bearer <DEMO_ADMIN_TOKEN>`: the node
 * empties itself (its clients resume on other nodes) and answers once it
 * has, so a deploy script can stop it next. Without DEMO_ADMIN_TOKEN the
 * route does not exist; SIGTERM drains as well.
 */
@Controller()
export class DrainController {
  private readonly token = process.env.DEMO_ADMIN_TOKEN || undefined;

  constructor(private readonly drain: NodeDrain) {}

  @Post('drain')
  @HttpCode(200)
  async start(@Headers('authorization') authorization?: string): Promise<{ drained: true }> {
    if (!this.token) throw new NotFoundException();
    const given = Buffer.from(authorization ?? '');
    const expected = Buffer.from(`Bearer ${this.token}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ForbiddenException({ code: 'FORBIDDEN', message: 'not an admin token' });
    await this.drain.drain();
    return { drained: true };
  }
}
