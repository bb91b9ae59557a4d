// The public API of @nest-duplex/client: the typed SDK, and the protocol types it speaks.
export * from './duplex-client';
export { DuplexError, ERROR_CODES, PROTOCOL_VERSION } from '@nest-duplex/protocol/wire';
export type { ErrorCode, SessionFrame } from '@nest-duplex/protocol/wire';
export type { CallbacksOf, ContractDefinition, OperationsOf } from '@nest-duplex/protocol';
