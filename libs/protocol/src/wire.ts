// @nest-duplex/protocol/wire: the frames, error codes and DuplexError, without the contract
// builders and so without zod: what a client needs at run time, kept small for browsers.
export * from './error-codes';
export * from './duplex-error';
export * from './frames';
