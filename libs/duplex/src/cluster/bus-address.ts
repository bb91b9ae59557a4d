/**
 * Where a bus message goes. A node receives a message only while it has
 * bound the address: topics while it has a local subscriber, sessions while
 * the session lives on it, its own node address and the broadcast address
 * always.
 */
export type BusAddress =
  | { kind: 'topic'; topic: string }
  | { kind: 'session'; sessionId: string }
  | { kind: 'node'; nodeId: string }
  | { kind: 'broadcast' };

export const topicAddress = (topic: string): BusAddress => ({ kind: 'topic', topic });
export const sessionAddress = (sessionId: string): BusAddress => ({ kind: 'session', sessionId });
export const nodeAddress = (nodeId: string): BusAddress => ({ kind: 'node', nodeId });
export const BROADCAST: BusAddress = { kind: 'broadcast' };

/** The AMQP routing key of an address; also the memory bus's map key. */
export function routingKey(address: BusAddress): string {
  switch (address.kind) {
    case 'topic':
      return `topic.${address.topic}`;
    case 'session':
      return `session.${address.sessionId}`;
    case 'node':
      return `node.${address.nodeId}`;
    case 'broadcast':
      return 'broadcast';
  }
}

/** The inverse of routingKey; null for a key no node binds. */
export function parseRoutingKey(key: string): BusAddress | null {
  if (key === 'broadcast') return BROADCAST;
  const dot = key.indexOf('.');
  const rest = key.slice(dot + 1);
  if (dot <= 0 || rest === '') return null;
  switch (key.slice(0, dot)) {
    case 'topic':
      return topicAddress(rest);
    case 'session':
      return sessionAddress(rest);
    case 'node':
      return nodeAddress(rest);
    default:
      return null;
  }
}

/** The key delivery counters use: per topic, but one bucket per kind for sessions and nodes. */
export function statsKey(address: BusAddress): string {
  return address.kind === 'topic' ? routingKey(address) : address.kind;
}
