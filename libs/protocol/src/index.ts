export * from './error-codes';
export * from './duplex-error';
export * from './wire';
export * from './contract';
