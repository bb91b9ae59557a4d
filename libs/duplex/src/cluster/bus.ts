import type { BusAddress } from './bus-address';
import type { BusMessage } from './bus-message';

export type BusHandler = (message: BusMessage, address: BusAddress) => void;

export interface PublishOptions {
  /**
   * The message must reach at least one node; otherwise publish rejects with
   * a NoRouteError. Used for messages to one session, never for topics.
   */
  mandatory?: boolean;
}

/**
 * Everything that crosses nodes goes through this interface; nothing above it
 * knows which transport carries it. `publish` resolves once the transport has
 * taken responsibility for the message (a broker confirm) and rejects with a
 * DuplexError (UNAVAILABLE) otherwise: never a silent loss.
 */
export interface Bus {
  readonly nodeId: string;
  /** Connects and starts delivering to `handler`; binds the node's own address. */
  start(handler: BusHandler): Promise<void>;
  publish(address: BusAddress, message: BusMessage, options?: PublishOptions): Promise<void>;
  /** Declares interest: messages to `address` start reaching this node. Idempotent. */
  bind(address: BusAddress): Promise<void>;
  unbind(address: BusAddress): Promise<void>;
  close(): Promise<void>;
}

export const BUS = Symbol('duplex:bus');
