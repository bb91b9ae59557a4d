import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a resume token names: a session, and which of its tokens this is. */
export interface TokenClaim {
  sessionId: string;
  /** The session's token count when this one was issued: every session frame carries the next. */
  generation: number;
}

/**
 * The resume token: `<sessionId>.<generation>.<hmac>`. The HMAC proves that a
 * node holding the cluster's secret issued it, so a client cannot resume
 * someone else's session by guessing its id; the generation lets the session
 * refuse its used tokens (Session.acceptsToken).
 */
export class SessionToken {
  constructor(private readonly secret: string) {}

  sign(sessionId: string, generation: number): string {
    return `${sessionId}.${generation}.${this.mac(sessionId, generation)}`;
  }

  /** What the token names, or null when it is malformed or forged. */
  verify(token: unknown): TokenClaim | null {
    if (typeof token !== 'string' || token.length > 256) return null;
    const match = /^(.+)\.(\d{1,15})\.([\w-]+)$/.exec(token);
    if (!match) return null;
    const [, sessionId, digits, mac] = match;
    const generation = Number(digits);
    const given = Buffer.from(mac);
    const expected = Buffer.from(this.mac(sessionId, generation));
    return given.length === expected.length && timingSafeEqual(given, expected) ? { sessionId, generation } : null;
  }

  private mac(sessionId: string, generation: number): string {
    return createHmac('sha256', this.secret).update(`${sessionId}.${generation}`).digest('base64url');
  }
}
