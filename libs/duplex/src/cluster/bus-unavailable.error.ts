import { DuplexError } from '@nest-duplex/protocol';

/**
 * The transport could not take a message: it is down, or it lost the
 * connection before confirming. Unlike a NoRouteError this says nothing about
 * the target, so a publish that may be repeated safely (its id is derived)
 * can wait for the transport and try again.
 */
export class BusUnavailableError extends DuplexError {
  constructor(message = 'the message bus is unavailable; try again shortly') {
    super('UNAVAILABLE', message);
    this.name = 'BusUnavailableError';
  }
}
