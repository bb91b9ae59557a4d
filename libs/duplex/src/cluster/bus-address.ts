/**
 * Where a bus message goes. A node receives a message only while it has
 * bound the address: topics while it has a local subscriber, sessions while
 * the session lives on it, and always its own node address.
 */
export type BusAddress =
  | { kind: 'topic'; topic: string }
  | { kind: 'session'; sessionId: string }
  | { kind: 'node'; nodeId: string };

export const topicAddress = (topic: string): BusAddress => ({ kind: 'topic', topic });
export const sessionAddress = (sessionId: string): BusAddress => ({ kind: 'session', sessionId });
export const nodeAddress = (nodeId: string): BusAddress => ({ kind: 'node', nodeId });

/** The AMQP routing key of an address; also the memory bus's map key. */
export function routingKey(address: BusAddress): string {
  switch (address.kind) {
    case 'topic':
      return `topic.${address.topic}`;
    case 'session':
      return `session.${address.sessionId}`;
    case 'node':
      return `node.${address.nodeId}`;
  }
}
