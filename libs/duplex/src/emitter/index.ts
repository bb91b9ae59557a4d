// @nest-duplex/server/emitter: callbacks from a process that is not a node (a worker, a cron job,
// an HTTP service). An entry of its own, so that only apps that use it need @nestjs/microservices.
export { DuplexEmitterModule } from './duplex-emitter.module';
export { DuplexEmitter } from './duplex-emitter';
export { DuplexClientProxy } from './duplex-client-proxy';
export type { DuplexCallbackPattern } from './callback-pattern';
export type { DuplexEmitterOptions } from './emitter-options';
export type { CallbackChannels } from '../runtime/callback-channels';
