/**
 * The stable error codes of the wire protocol. Clients in any language switch
 * on these strings, so they never change meaning once published.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_SERVICE',
  'UNKNOWN_OPERATION',
  'INVALID_ARGUMENTS',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'TIMEOUT',
  'UNAVAILABLE',
  'CONFLICT',
  'RESOURCE_EXHAUSTED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
