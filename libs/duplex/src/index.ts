// The public API of @nest-duplex/server. What tests and tools need beyond it is in ./internal.
export {
  callback,
  defineContract,
  DuplexError,
  ERROR_CODES,
  operation,
  type CallbackProxy,
  type CallbacksOf,
  type ContractDefinition,
  type ErrorCode,
  type GatherAnswer,
  type GatherProxy,
  type OperationHandlers,
  type OperationsOf,
  type TopicProxy,
} from '@nest-duplex/protocol';
export { DuplexModule } from './duplex.module';
export { DuplexOptionsError, type DuplexAmqpOptions, type DuplexOptions, type DuplexStateOptions } from './duplex-options';
export { DuplexService } from './contracts/duplex-service.decorator';
export { type OnSessionEnd, type SessionInfo, userIdOf } from './contracts/session-info';
export type { DuplexAuthenticator, DuplexHandshake } from './gateway/duplex-authenticator';
export { DuplexContext } from './runtime/duplex-context';
export { DUPLEX_CONTEXT, duplexCall, type DuplexCall, type DuplexContextType } from './runtime/duplex-call';
export type { CallbackChannels } from './runtime/callback-channels';
export type { CallbackHub, GatherOptions } from './runtime/callback-hub';
export { DuplexHealth, type HealthReport } from './runtime/duplex-health';
export { NodeDrain } from './runtime/node-drain';
export { ReplicatedStore } from './state/replicated-store';
export type { IncrementResult, Json } from './state/state-command';
export { DuplexMetrics } from './metrics/duplex-metrics';
export { NodeLogger } from './logging/node-logger';
export type { BusStats } from './cluster/bus';
export type { LatencySummary } from './cluster/latency-window';
