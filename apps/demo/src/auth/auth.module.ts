import { Global, Module } from '@nestjs/common';
import { DemoTokens } from './demo-tokens';
import { SignInController } from './sign-in.controller';

/** Global, so DuplexModule's injector can build the DemoAuthenticator with DemoTokens. */
@Global()
@Module({ controllers: [SignInController], providers: [DemoTokens], exports: [DemoTokens] })
export class AuthModule {}
