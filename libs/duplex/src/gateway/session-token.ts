import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The resume token: `<sessionId>.<hmac>`. It proves the session was issued by
 * a node holding the cluster's secret, so a client cannot resume someone
 * else's session by guessing its id.
 */
export class SessionToken {
  constructor(private readonly secret: string) {}

  sign(sessionId: string): string {
    return `${sessionId}.${this.mac(sessionId)}`;
  }

  /** The session id, or null when the token is malformed or forged. */
  verify(token: unknown): string | null {
    if (typeof token !== 'string' || token.length > 256) return null;
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const sessionId = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(sessionId));
    return given.length === expected.length && timingSafeEqual(given, expected) ? sessionId : null;
  }

  private mac(sessionId: string): string {
    return createHmac('sha256', this.secret).update(sessionId).digest('base64url');
  }
}
