import type { IncomingHttpHeaders } from 'node:http';

/** What a client's handshake carries, for an authenticator that needs more than the token. */
export interface DuplexHandshake {
  /** `auth.token` of the Socket.IO handshake. */
  readonly token: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** The client's address: the connection's peer, or behind trusted proxies (`trustProxyHops`) the one they forwarded. */
  readonly address: string;
}

/**
 * Turns a handshake into the session's identity, or throws to refuse the
 * client (UNAUTHENTICATED unless it throws a DuplexError of its own). As a
 * class it is built by Nest's injector, so it may inject any provider the
 * DuplexModule can see (JwtService through forRootAsync's `imports`, a users
 * repository of a global module).
 */
export interface DuplexAuthenticator {
  authenticate(token: string | undefined, handshake: DuplexHandshake): unknown | Promise<unknown>;
}
