// @nest-duplex/server/internal: the parts behind the public API, for this repository's tests,
// benchmarks and tools. No stability promise: it changes with the implementation.
export * from './index';
export * from './cluster/bus';
export * from './cluster/bus-address';
export * from './cluster/bus-message';
export { MemoryBroker, MemoryBus } from './cluster/memory-bus';
export { AmqpBus } from './cluster/amqp-bus';
export { createBus } from './cluster/create-bus';
export { removeTopology, topology } from './cluster/amqp-topology';
export { DUPLEX_OPTIONS, DuplexOptionsError, resolveOptions, type ResolvedDuplexOptions } from './duplex-options';
export { DuplexNode } from './runtime/duplex-node';
export type { NodeObserver } from './runtime/node-events';
export { REAPER_QUEUE } from './presence/cluster-presence';
export { DuplexGateway } from './gateway/duplex-gateway';
export type { Replica } from './state/replication-log';
export type { LogEntry, StateCommand } from './state/state-command';
export { MemoryLog, MemoryLogStore } from './state/memory-log';
export { AmqpStreamLog, type StreamLogOptions } from './state/amqp-stream-log';
