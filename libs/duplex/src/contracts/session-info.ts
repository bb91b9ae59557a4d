/** What a service knows about a session. Identity comes from `authenticate`. */
export interface SessionInfo {
  readonly id: string;
  readonly identity: unknown;
}

/** Implemented by a service that reacts when a session ends (disconnect past the grace period). */
export interface OnSessionEnd {
  onSessionEnd(session: SessionInfo): void | Promise<void>;
}

export function hasSessionEndHook(value: unknown): value is OnSessionEnd {
  return typeof (value as Partial<OnSessionEnd> | null)?.onSessionEnd === 'function';
}
