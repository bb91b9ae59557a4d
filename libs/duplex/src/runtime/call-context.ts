import { AsyncLocalStorage } from 'node:async_hooks';
import { DuplexError } from '@nest-duplex/protocol';
import type { Session } from './session';

/** What runs: a call of an operation, or a session's end hook (no operation). */
export interface CallScope {
  readonly session: Session;
  readonly service?: string;
  readonly operation?: string;
}

/**
 * The session a handler runs for, carried through every await of the call
 * (WCF's OperationContext.Current). Set by the dispatcher and around session
 * end hooks, read by the callback proxies, so handlers need no extra parameter.
 */
export const callContext = new AsyncLocalStorage<CallScope>();

export function currentSession(): Session {
  const scope = callContext.getStore();
  if (!scope) throw new DuplexError('INTERNAL', 'no caller: not inside an operation or session hook');
  return scope.session;
}
