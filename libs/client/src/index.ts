export * from './duplex-client';
export { DuplexError, ERROR_CODES } from '../../duplex/src/protocol';
export type { ErrorCode, SessionFrame } from '../../duplex/src/protocol';
export type { CallbacksOf, OperationsOf } from '../../duplex/src/contracts/contract';
