import { DuplexContext, DuplexService, OperationHandlers } from '@nest-duplex/server';
import { statusContract } from './status.contract';

/** The first WCF duplex sample: one notification from the client, three calls back. */
@DuplexService(statusContract)
export class StatusService implements OperationHandlers<typeof statusContract> {
  private readonly clients;

  constructor(duplex: DuplexContext) {
    this.clients = duplex.callbacks(statusContract);
  }

  async dataUpdated(): Promise<void> {
    const caller = this.clients.caller();
    for (let i = 0; i < 3; i++) await caller.showStatus(`Call back request from Service ${i} Time`);
  }
}
