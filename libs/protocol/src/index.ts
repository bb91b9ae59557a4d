export * from './wire';
export * from './contract';
