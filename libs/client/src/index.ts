// The public API of @nest-duplex/client: the typed SDK, and the protocol types it speaks.
export * from './duplex-client';
export { DuplexError, ERROR_CODES, PROTOCOL_VERSION } from '@nest-duplex/protocol';
export type { CallbacksOf, ContractDefinition, ErrorCode, OperationsOf, SessionFrame } from '@nest-duplex/protocol';
