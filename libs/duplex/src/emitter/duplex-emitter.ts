import { Injectable } from '@nestjs/common';
import type { ContractDefinition } from '@nest-duplex/protocol';
import { CallbackChannels } from '../runtime/callback-channels';
import { ClientProxySender } from './client-proxy-sender';
import { DuplexClientProxy } from './duplex-client-proxy';

/**
 * What a worker injects to call back the cluster's clients with a contract's
 * types: `callbacks(contract).topic(t) | .user(id) | .session(id)`, each
 * resolving once the broker confirmed (one-way) or with the client's answer
 * (request-reply, to one session). DuplexEmitterModule provides it.
 */
@Injectable()
export class DuplexEmitter {
  private readonly sender: ClientProxySender;

  constructor(private readonly client: DuplexClientProxy) {
    this.sender = new ClientProxySender(client);
  }

  callbacks<C extends ContractDefinition>(contract: C): CallbackChannels<C> {
    return new CallbackChannels(contract, this.sender, this.client.callbackTimeoutMs);
  }
}
