import { Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A guest's name: what the page's sign-in takes, and the user id of its sessions. */
export const GUEST_NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,31}$/u;

/**
 * The demo's signed tokens: `<name>.<HMAC of the name>`, with the cluster's
 * DUPLEX_SECRET, so a token signed by one node verifies on every node. A real
 * app would use its identity provider (a JWT from @nestjs/jwt, say).
 */
@Injectable()
export class DemoTokens {
  private readonly key = process.env.DUPLEX_SECRET || randomBytes(32).toString('hex');

  sign(name: string): string {
    return `${Buffer.from(name).toString('base64url')}.${this.mac(name)}`;
  }

  /** The name a token was signed for, or undefined. */
  verify(token: string): string | undefined {
    const [encoded, mac] = token.split('.');
    if (!encoded || !mac) return undefined;
    const name = Buffer.from(encoded, 'base64url').toString();
    const expected = Buffer.from(this.mac(name));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? name : undefined;
  }

  private mac(name: string): string {
    return createHmac('sha256', this.key).update(name).digest('base64url');
  }
}
