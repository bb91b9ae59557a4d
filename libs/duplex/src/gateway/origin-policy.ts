import type { IncomingMessage } from 'node:http';

/**
 * Whether a browser of this request's Origin may connect: no Origin (not a
 * browser), the node's own origin (the Origin's host is the request's Host),
 * or one of `allowed` (`*` for any). WebSocket upgrades are not subject to
 * CORS, so this is checked for every transport.
 */
export function isOriginAllowed(request: Pick<IncomingMessage, 'headers'>, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false; // "null" (a sandboxed page, a file) and anything unparseable
  }
}
