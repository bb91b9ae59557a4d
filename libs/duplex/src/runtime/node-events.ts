import { Injectable } from '@nestjs/common';

/** Why a node closed a client's connection itself. */
export type ConnectionCloseCause = 'slow-consumer' | 'bad-frame' | 'frame-too-large' | 'transport-error';

/** What a node reports as it works. Calls are synchronous and must be cheap; metrics implement it. */
export interface NodeObserver {
  /** An operation call answered; `outcome` is "ok" or the error code. */
  call(service: string, operation: string, outcome: string): void;
  /** A callback raised by a service; `outcome` is "ok" or the error code. */
  callback(service: string, method: string, outcome: string): void;
  /** The node closed a client's connection (the session stays, for its client to resume). */
  closed(cause: ConnectionCloseCause): void;
}

/** Fans a node's reports out to whoever observes it (none by default). */
@Injectable()
export class NodeEvents implements NodeObserver {
  private readonly observers: NodeObserver[] = [];

  add(observer: NodeObserver): void {
    this.observers.push(observer);
  }

  call(service: string, operation: string, outcome: string): void {
    for (const observer of this.observers) observer.call(service, operation, outcome);
  }

  callback(service: string, method: string, outcome: string): void {
    for (const observer of this.observers) observer.callback(service, method, outcome);
  }

  closed(cause: ConnectionCloseCause): void {
    for (const observer of this.observers) observer.closed(cause);
  }
}
