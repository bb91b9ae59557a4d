import { Injectable } from '@nestjs/common';
import { DuplexError, type DuplexAuthenticator } from '@nest-duplex/server';
import { DemoTokens } from './demo-tokens';

/** A guest signed in (POST /sign-in) is `{ userId: name }`; without a token the client is anonymous. */
@Injectable()
export class DemoAuthenticator implements DuplexAuthenticator {
  constructor(private readonly tokens: DemoTokens) {}

  authenticate(token: string | undefined): { userId: string } | null {
    if (token === undefined) return null;
    const name = this.tokens.verify(token);
    if (name === undefined) throw new DuplexError('UNAUTHENTICATED', 'the sign-in token is not valid');
    return { userId: name };
  }
}
