import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import type { ContractDefinition } from '@nest-duplex/protocol';

export const DUPLEX_SERVICE = Symbol('duplex:service');

/**
 * Marks a provider as the implementation of a contract. The class must have
 * one method per operation (checked at start-up); `OperationHandlers<C>`
 * makes the compiler check it too.
 */
export function DuplexService(contract: ContractDefinition): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(DUPLEX_SERVICE, contract));
}
