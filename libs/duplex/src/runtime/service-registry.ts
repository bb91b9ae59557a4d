import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { ContractDefinition } from '@nest-duplex/protocol';
import { DUPLEX_SERVICE } from '../contracts/duplex-service.decorator';
import { OperationPipeline } from './operation-pipeline';

export interface RegisteredService {
  readonly contract: ContractDefinition;
  readonly instance: object;
  /** Runs an operation's handler, with the app's enhancers around it. */
  invoke(operation: string, args: unknown[]): Promise<unknown>;
}

/** The services this node hosts, by wire name; checked against their contracts at start-up. */
@Injectable()
export class ServiceRegistry {
  private readonly services = new Map<string, RegisteredService>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly pipeline: OperationPipeline,
  ) {}

  /** Registers every provider of the app marked with @DuplexService. */
  discover(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const contract: ContractDefinition | undefined =
        wrapper.metatype && wrapper.instance ? Reflect.getMetadata(DUPLEX_SERVICE, wrapper.metatype) : undefined;
      if (contract) this.register(contract, wrapper.instance as object);
    }
  }

  register(contract: ContractDefinition, instance: object): void {
    if (this.services.has(contract.name)) {
      throw new Error(`two providers implement the duplex service "${contract.name}"`);
    }
    const missing = Object.keys(contract.operations).filter(
      (op) => typeof (instance as Record<string, unknown>)[op] !== 'function',
    );
    if (missing.length > 0) {
      throw new Error(`${instance.constructor.name} lacks operations of "${contract.name}": ${missing.join(', ')}`);
    }
    const handlers = new Map(
      Object.entries(contract.operations).map(([op, definition]) => [op, this.pipeline.wrap(instance, op, definition.args.def.items.length)]),
    );
    this.services.set(contract.name, { contract, instance, invoke: (op, args) => handlers.get(op)!(args) });
  }

  get(name: string): RegisteredService | undefined {
    return this.services.get(name);
  }

  all(): RegisteredService[] {
    return [...this.services.values()];
  }
}
