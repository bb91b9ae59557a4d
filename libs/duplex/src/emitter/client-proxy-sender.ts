import type { CallbackFrame } from '@nest-duplex/protocol';
import { lastValueFrom } from 'rxjs';
import { userOfTopic } from '../presence/user-topic';
import type { CallbackSender } from '../runtime/callback-sender';
import type { DuplexCallbackPattern } from './callback-pattern';
import type { DuplexClientProxy } from './duplex-client-proxy';

/** Typed callbacks (CallbackChannels) over a DuplexClientProxy's own emit and send. */
export class ClientProxySender implements CallbackSender {
  constructor(private readonly proxy: DuplexClientProxy) {}

  send(sessionId: string, frame: CallbackFrame): Promise<void> {
    return this.emit({ service: frame.service, method: frame.method, session: sessionId }, frame.args);
  }

  request(sessionId: string, frame: CallbackFrame, timeoutMs: number): Promise<unknown> {
    const pattern: DuplexCallbackPattern = { service: frame.service, method: frame.method, session: sessionId, timeoutMs };
    // A void answer completes without a value.
    return lastValueFrom(this.proxy.send(pattern, frame.args), { defaultValue: undefined });
  }

  /** `topic` as CallbackChannels names it: a user's own topic goes as the pattern's user. */
  publish(topic: string, frame: CallbackFrame): Promise<void> {
    const user = userOfTopic(topic);
    return this.emit({ service: frame.service, method: frame.method, ...(user === undefined ? { topic } : { user }) }, frame.args);
  }

  private emit(pattern: DuplexCallbackPattern, args: unknown[]): Promise<void> {
    return lastValueFrom(this.proxy.emit(pattern, args), { defaultValue: undefined });
  }
}
