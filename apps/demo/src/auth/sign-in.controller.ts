import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { DemoTokens, GUEST_NAME } from './demo-tokens';

@Controller()
export class SignInController {
  constructor(private readonly tokens: DemoTokens) {}

  /** `{ name }` → `{ token }` for the handshake's `auth.token`; a name of 1–32 letters, digits, spaces, `_`, `.` or `-`. */
  @Post('sign-in')
  @HttpCode(200)
  signIn(@Body() body: { name?: unknown }): { token: string } {
    if (typeof body?.name !== 'string' || !GUEST_NAME.test(body.name)) {
      throw new BadRequestException({ code: 'BAD_REQUEST', message: 'name is 1–32 letters, digits, spaces, "_", "." or "-"' });
    }
    return { token: this.tokens.sign(body.name) };
  }
}
