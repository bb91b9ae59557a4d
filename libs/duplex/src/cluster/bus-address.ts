/**
 * Where a bus message goes. A node receives a message only while it has
 * bound the address: topics while it has a local subscriber, its own node
 * address and the broadcast address always. A session is not an address: a
 * callback for one goes to the node that holds it (runtime/session-routes.ts),
 * so connecting costs the broker no binding.
 */
export type BusAddress =
  | { kind: 'topic'; topic: string }
  | { kind: 'node'; nodeId: string }
  | { kind: 'broadcast' };

export const topicAddress = (topic: string): BusAddress => ({ kind: 'topic', topic });
export const nodeAddress = (nodeId: string): BusAddress => ({ kind: 'node', nodeId });
export const BROADCAST: BusAddress = { kind: 'broadcast' };

/** The AMQP routing key of an address; also the memory bus's map key. */
export function routingKey(address: BusAddress): string {
  switch (address.kind) {
    case 'topic':
      return `topic.${address.topic}`;
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
    case 'node':
      return nodeAddress(rest);
    default:
      return null;
  }
}

/** The key delivery counters use: per topic, but one bucket for node messages. */
export function statsKey(address: BusAddress): string {
  return address.kind === 'topic' ? routingKey(address) : address.kind;
}
