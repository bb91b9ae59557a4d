import type { ArgumentsHost } from '@nestjs/common';
import { DuplexError } from '@nest-duplex/protocol';
import type { SessionInfo } from '../contracts/session-info';
import { callContext } from './call-context';

/** `ExecutionContext.getType()` of an operation's call, for guards, interceptors, pipes and filters that serve several transports. */
export const DUPLEX_CONTEXT = 'duplex';
export type DuplexContextType = typeof DUPLEX_CONTEXT;

/** The call an enhancer runs around: who calls, what, with which arguments (as validated by the contract). */
export interface DuplexCall {
  readonly session: SessionInfo;
  /** The session's identity, as `authenticate` made it; undefined for an anonymous client. */
  readonly identity: unknown;
  /** The service's wire name (its contract's `name`). */
  readonly service: string;
  readonly operation: string;
  readonly args: unknown[];
}

/**
 * The call behind an ExecutionContext or ArgumentsHost of type "duplex"
 * (guards, interceptors, filters): `duplexCall(context).identity`.
 */
export function duplexCall(host: ArgumentsHost): DuplexCall {
  const scope = callContext.getStore();
  if (host.getType<string>() !== DUPLEX_CONTEXT || !scope?.operation) {
    throw new DuplexError('INTERNAL', `duplexCall() needs the context of a duplex operation, not "${host.getType()}"`);
  }
  const { session, service, operation } = scope;
  return { session, identity: session.identity, service: service!, operation, args: host.getArgs() };
}
