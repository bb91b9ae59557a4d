import { ErrorCode, isErrorCode } from './error-codes';
import type { WireError } from './frames';

/**
 * The one error type that crosses the wire. Handlers throw it to answer a
 * call with a specific code; anything else a handler throws reaches the
 * client as INTERNAL without its message, so internals never leak.
 */
export class DuplexError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DuplexError';
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  /** Rebuilds an error received from the wire; an unknown code becomes INTERNAL. */
  static fromWire(error: unknown): DuplexError {
    if (error && typeof error === 'object') {
      const { code, message } = error as Partial<WireError>;
      return new DuplexError(
        isErrorCode(code) ? code : 'INTERNAL',
        typeof message === 'string' ? message : 'remote error',
      );
    }
    return new DuplexError('INTERNAL', 'remote error');
  }
}
