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
