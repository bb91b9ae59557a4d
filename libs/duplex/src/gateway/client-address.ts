import type { IncomingHttpHeaders } from 'node:http';

/**
 * The client's address: the connection's peer, or, behind `trustedHops`
 * proxies, the entry of `X-Forwarded-For` that the outermost trusted proxy
 * appended (that many from the right). Entries further left were written by
 * the client and are never trusted.
 */
export function clientAddress(peer: string, headers: IncomingHttpHeaders, trustedHops: number): string {
  if (trustedHops === 0) return peer;
  const header = headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  // Fewer entries than trusted proxies: the request did not come through them all; its peer is what is known.
  return entries.length >= trustedHops ? entries[entries.length - trustedHops] : peer;
}
