import { Injectable } from '@nestjs/common';
import { ExternalContextCreator, type ParamsFactory } from '@nestjs/core';
import { DUPLEX_CONTEXT } from './duplex-call';

/** Where the operations' synthesized parameter metadata lives: one entry per positional argument. */
const ARGUMENTS_METADATA = 'duplex:operation-arguments';
/** The one parameter kind: a positional argument of the call. Pipes see it as `metadata.type` with `data` its index. */
const ARGUMENT = 0;

/** Hands each positional argument to its parameter, so pipes transform what the handler receives. */
const argumentsFactory: ParamsFactory = {
  exchangeKeyForValue: (_type, index, args: unknown[]) => args[index as number],
};

/**
 * Runs an operation's handler inside the app's enhancers, as Nest runs a
 * controller's: guards, interceptors, pipes (on each argument) and exception
 * filters bound globally, on the service class or on the method, in an
 * ExecutionContext of type "duplex" whose args are the call's arguments.
 * ExternalContextCreator is Nest's public way to do this for a transport of
 * its own.
 */
@Injectable()
export class OperationPipeline {
  constructor(private readonly contexts: ExternalContextCreator) {}

  /** The handler of `operation`, wrapped once at start-up. */
  wrap(instance: object, operation: string, argumentCount: number): (args: unknown[]) => Promise<unknown> {
    const handler = (instance as Record<string, (...args: unknown[]) => unknown>)[operation];
    const host = instance.constructor;
    if (!Reflect.hasOwnMetadata(ARGUMENTS_METADATA, host, operation)) {
      const parameters: Record<string, { index: number; data: number; pipes: unknown[] }> = {};
      for (let index = 0; index < argumentCount; index++) parameters[`${ARGUMENT}:${index}`] = { index, data: index, pipes: [] };
      Reflect.defineMetadata(ARGUMENTS_METADATA, parameters, host, operation);
    }
    const run = this.contexts.create(instance, handler, operation, ARGUMENTS_METADATA, argumentsFactory, undefined, undefined, undefined, DUPLEX_CONTEXT);
    return (args) => run(...args);
  }
}
