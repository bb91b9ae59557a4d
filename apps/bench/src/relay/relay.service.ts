import { DuplexContext, DuplexService, OperationHandlers } from '@nest-duplex/server/internal';
import { relayContract } from './relay.contract';

@DuplexService(relayContract)
export class RelayService implements OperationHandlers<typeof relayContract> {
  private readonly clients;

  constructor(private readonly duplex: DuplexContext) {
    this.clients = duplex.callbacks(relayContract);
  }

  async join(topic: string): Promise<null> {
    await this.duplex.subscribe(topic);
    return null;
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.clients.topic(topic).message(payload);
  }
}
