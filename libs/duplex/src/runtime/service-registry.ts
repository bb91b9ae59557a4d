import type { ContractDefinition } from '@nest-duplex/protocol';

export interface RegisteredService {
  readonly contract: ContractDefinition;
  readonly instance: object;
}

/** The services this node hosts, by wire name; checked against their contracts at start-up. */
export class ServiceRegistry {
  private readonly services = new Map<string, RegisteredService>();

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
    this.services.set(contract.name, { contract, instance });
  }

  get(name: string): RegisteredService | undefined {
    return this.services.get(name);
  }

  all(): RegisteredService[] {
    return [...this.services.values()];
  }
}
