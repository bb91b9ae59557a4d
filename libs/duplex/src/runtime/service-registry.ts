import type { ContractDefinition } from '@nest-duplex/protocol';

export interface RegisteredService {
  readonly contract: ContractDefinition;
  readonly instance: object;
  /** Runs an operation's handler, with the app's enhancers around it. */
  invoke(operation: string, args: unknown[]): Promise<unknown>;
}

/** Wraps a handler of a service, once, at registration. */
export type HandlerWrapper = (instance: object, operation: string, argumentCount: number) => (args: unknown[]) => Promise<unknown>;

/** The services this node hosts, by wire name; checked against their contracts at start-up. */
export class ServiceRegistry {
  private readonly services = new Map<string, RegisteredService>();

  constructor(private readonly wrap: HandlerWrapper) {}

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
      Object.entries(contract.operations).map(([op, definition]) => [op, this.wrap(instance, op, definition.args.def.items.length)]),
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
