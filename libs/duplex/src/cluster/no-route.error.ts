import { DuplexError } from '@nest-duplex/protocol';
import { BusAddress, routingKey } from './bus-address';

/** A mandatory message found no node bound to its address. */
export class NoRouteError extends DuplexError {
  constructor(readonly address: BusAddress) {
    super('UNAVAILABLE', `no node serves ${routingKey(address)}`);
    this.name = 'NoRouteError';
  }
}
