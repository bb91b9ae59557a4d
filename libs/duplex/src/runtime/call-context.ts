import { AsyncLocalStorage } from 'node:async_hooks';
import { DuplexError } from '@nest-duplex/protocol';
import type { Session } from './session';

/**
 * The session a handler runs for, carried through every await of the call
 * (WCF's OperationContext.Current). Set by the dispatcher and around session
 * end hooks, read by the callback proxies, so handlers need no extra parameter.
 */
export const callContext = new AsyncLocalStorage<Session>();

export function currentSession(): Session {
  const session = callContext.getStore();
  if (!session) throw new DuplexError('INTERNAL', 'no caller: not inside an operation or session hook');
  return session;
}
