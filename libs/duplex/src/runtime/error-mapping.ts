import { HttpException, HttpStatus, IntrinsicException } from '@nestjs/common';
import { DuplexError, type ErrorCode } from '@nest-duplex/protocol';

// A DuplexError is an intended answer (CONFLICT, FORBIDDEN), not a fault: Nest's default
// exception filter logs every Error except an IntrinsicException, so in a server a DuplexError
// is one. The protocol package cannot import Nest; this is where the two meet.
Object.setPrototypeOf(DuplexError.prototype, IntrinsicException.prototype);
Object.setPrototypeOf(DuplexError, IntrinsicException);

/** HTTP statuses of Nest's built-in exceptions, as wire codes (docs/protocol.md). */
const CODES: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'INVALID_ARGUMENTS',
  [HttpStatus.UNPROCESSABLE_ENTITY]: 'INVALID_ARGUMENTS',
  [HttpStatus.NOT_FOUND]: 'INVALID_ARGUMENTS',
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHENTICATED',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.GONE]: 'CONFLICT',
  [HttpStatus.PRECONDITION_FAILED]: 'CONFLICT',
  [HttpStatus.REQUEST_TIMEOUT]: 'TIMEOUT',
  [HttpStatus.GATEWAY_TIMEOUT]: 'TIMEOUT',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RESOURCE_EXHAUSTED',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'UNAVAILABLE',
};

/**
 * What an error becomes on the wire: a DuplexError as it is; a Nest
 * HttpException by its status (an unlisted 4xx is BAD_REQUEST, any 5xx
 * INTERNAL), with its message only below 500; anything else INTERNAL,
 * without its message, so internals never leak.
 */
export function toDuplexError(error: unknown): DuplexError {
  if (error instanceof DuplexError) return error;
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status >= 500 && status !== HttpStatus.SERVICE_UNAVAILABLE && status !== HttpStatus.GATEWAY_TIMEOUT) {
      return new DuplexError('INTERNAL', 'internal error');
    }
    return new DuplexError(CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'), messageOf(error));
  }
  return new DuplexError('INTERNAL', 'internal error');
}

/** The exception's own message, or a pipe's list of messages joined. */
function messageOf(error: HttpException): string {
  const response = error.getResponse();
  const message = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : undefined;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}

/** Whether an error is a fault worth a log line (not an intended answer). */
export function isFault(error: unknown): boolean {
  return !(error instanceof DuplexError) && !(error instanceof HttpException && error.getStatus() < 500);
}
