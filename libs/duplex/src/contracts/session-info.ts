/** What a service knows about a session. Identity comes from `authenticate`. */
export interface SessionInfo {
  readonly id: string;
  readonly identity: unknown;
  /**
   * Small JSON values a service keeps on the session (a guest's name). They
   * travel with the session's presence, so a service's end hook can read
   * them on whichever node ends the session.
   */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** Implemented by a service that reacts when a session ends (disconnect past the grace period). */
export interface OnSessionEnd {
  onSessionEnd(session: SessionInfo): void | Promise<void>;
}

export function hasSessionEndHook(value: unknown): value is OnSessionEnd {
  return typeof (value as Partial<OnSessionEnd> | null)?.onSessionEnd === 'function';
}

/**
 * The user a session's identity names: the identity itself when it is a
 * string, else its `userId`, `id` or `sub` (a JWT's subject) when that is a
 * string; undefined for an anonymous session. Only a handshake whose identity
 * names the same user (or, for identities that name none, an equal identity)
 * resumes a session.
 */
export function userIdOf(identity: unknown): string | undefined {
  if (typeof identity === 'string') return identity;
  if (identity === null || typeof identity !== 'object') return undefined;
  const { userId, id, sub } = identity as Record<string, unknown>;
  for (const candidate of [userId, id, sub]) if (typeof candidate === 'string') return candidate;
  return undefined;
}

/** Whether a handshake's identity may continue a session opened by another handshake's. */
export function sameIdentity(a: unknown, b: unknown): boolean {
  const [userA, userB] = [userIdOf(a), userIdOf(b)];
  if (userA !== undefined || userB !== undefined) return userA === userB;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
