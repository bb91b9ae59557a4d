import { Logger } from '@nestjs/common';
import type { ResolvedAmqpOptions } from '../duplex-options';
import type { Bus } from './bus';
import { AmqpBus } from './amqp-bus';
import { MemoryBus } from './memory-bus';
import { brokerName } from './broker-list';

/** The memory bus unless a broker is configured. */
export function createBus(nodeId: string, amqp: ResolvedAmqpOptions | null): Bus {
  if (!amqp) return new MemoryBus(nodeId);
  new Logger('Bus').log(`node ${nodeId} uses RabbitMQ at ${amqp.urls.map(brokerName).join(', ')} (prefix "${amqp.prefix}")`);
  return new AmqpBus({ nodeId, ...amqp });
}
