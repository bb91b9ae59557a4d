import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Ack, DuplexError, type OperationDefinition } from '@nest-duplex/protocol';
import { idempotencyScope } from '../state/idempotency-scope';
import { callContext } from './call-context';
import { isFault, toDuplexError } from './error-mapping';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from './nesting-depth';
import { DUPLEX_OPTIONS, type ResolvedDuplexOptions } from '../duplex-options';
import { DuplexHealth, type NodeReadiness } from './duplex-health';
import { NodeEvents, type NodeObserver } from './node-events';
import { ServiceRegistry } from './service-registry';
import type { Session } from './session';

const callFrame = z.object({
  service: z.string().max(128),
  op: z.string().max(128),
  args: z.array(z.unknown()),
  id: z.string().min(1).max(64).optional(),
});

/**
 * Turns a `call` frame into an ack: validates it, finds the handler, runs it
 * in the session's order (or beside it, for concurrent operations) and maps
 * its outcome to the wire's ack, one-way operations included. It never throws: a bad frame is the
 * client's problem, not the node's.
 */
@Injectable()
export class OperationDispatcher {
  private readonly logger = new Logger(OperationDispatcher.name);
  private inFlight = 0;
  private stopping = false;
  private idle: (() => void) | null = null;
  /** Names runs of calls without id: unique per process, so per cluster, and unlike any SDK call id. */
  private readonly runPrefix = `~${randomUUID().slice(0, 8)}:`;
  private runs = 0;

  private readonly maxCallBytes: number;

  constructor(
    private readonly services: ServiceRegistry,
    @Inject(DUPLEX_OPTIONS) options: Pick<ResolvedDuplexOptions, 'maxCallBytes'>,
    /** Not ready while the cluster bus is down or the shared state catches up. */
    @Inject(DuplexHealth) private readonly node: NodeReadiness,
    @Inject(NodeEvents) private readonly events: NodeObserver,
  ) {
    this.maxCallBytes = options.maxCallBytes;
  }

  /**
   * The node is stopping: refuse new calls (UNAVAILABLE, so the client tries
   * another node) and resolve once the calls already running have answered,
   * or after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async dispatch(session: Session, frame: unknown): Promise<Ack> {
    let ack: Ack;
    this.inFlight++;
    try {
      ack = await this.run(session, frame);
    } catch (error) {
      ack = this.failed(error);
    }
    this.report(frame, ack);
    if (--this.inFlight === 0) this.idle?.();
    return ack;
  }

  /** Names only operations that exist, so a client cannot invent label values. */
  private report(frame: unknown, ack: Ack): void {
    const { service, op } = (frame ?? {}) as { service?: unknown; op?: unknown };
    const operations = typeof service === 'string' ? this.services.get(service)?.contract.operations : undefined;
    const known = operations !== undefined && typeof op === 'string' && Object.hasOwn(operations, op);
    this.events.call(known ? (service as string) : '(unknown)', known ? (op as string) : '(unknown)', ack.ok ? 'ok' : ack.error.code);
  }

  /** A fault is logged once: by Nest's exception filter when it came through the pipeline, else here. */
  private failed(error: unknown, logged = false): Ack {
    const answer = toDuplexError(error);
    if (isFault(error) && !logged) this.logger.error(`call failed: ${(error as Error)?.stack ?? error}`);
    else this.logger.debug(`call refused: ${answer.code} ${answer.message}`);
    return { ok: false, error: answer.toWire() };
  }

  private run(session: Session, frame: unknown): Promise<Ack> {
    const parsed = callFrame.safeParse(frame);
    if (!parsed.success) {
      throw new DuplexError('BAD_REQUEST', 'a call is { service: string, op: string, args: unknown[], id?: string }');
    }
    const { service: name, op, args, id } = parsed.data;
    // Before JSON.stringify and zod, which recurse: deep enough, they overflow the stack.
    if (nestsDeeperThan(args, MAX_NESTING_DEPTH)) {
      throw new DuplexError('BAD_REQUEST', `call arguments nest more than ${MAX_NESTING_DEPTH} arrays and objects deep`);
    }
    const size = Buffer.byteLength(JSON.stringify(args));
    if (size > this.maxCallBytes) {
      throw new DuplexError('BAD_REQUEST', `call arguments are ${size} bytes; the limit is ${this.maxCallBytes}`);
    }
    const service = this.services.get(name);
    if (!service) throw new DuplexError('UNKNOWN_SERVICE', `no service "${name}"`);
    const definition = Object.hasOwn(service.contract.operations, op) ? service.contract.operations[op] : undefined;
    if (!definition) throw new DuplexError('UNKNOWN_OPERATION', `service "${name}" has no operation "${op}"`);
    const checked = definition.args.safeParse(args);
    if (!checked.success) {
      throw new DuplexError('INVALID_ARGUMENTS', `${name}.${op}: ${z.prettifyError(checked.error).replace(/\n\s*/g, ' ')}`);
    }

    // A resent call: answered from the record, never run twice.
    const recorded = id === undefined ? undefined : session.outcomes.get(id);
    if (recorded) return recorded;

    if (this.stopping) throw new DuplexError('UNAVAILABLE', 'this node is stopping; reconnect to another');
    // Refused before the handler runs, so no handler half-applies a change it cannot announce.
    if (!this.node.serving) throw new DuplexError('UNAVAILABLE', 'the cluster bus is unavailable; try again shortly');

    // Through the app's guards, interceptors, pipes and filters (OperationPipeline).
    const call = () => service.invoke(op, checked.data as unknown[]);
    // What the handler writes and raises is named after the call, so a run of the same call on
    // another node (its record died with its node) applies and notifies once, and an effect that
    // meets a bus outage can wait and be sent again. A call without id is named after this run.
    const key = id === undefined ? `${this.runPrefix}${++this.runs}` : id;
    const scope = { key: `${session.id}:${key}`, occurrences: new Map<string, number>() };
    const invoke = () => callContext.run({ session, service: name, operation: op }, () => idempotencyScope.run(scope, call));
    // A full queue throws here, before anything is recorded: that refusal is not an outcome.
    const running = definition.concurrent ? invoke() : session.queue.run(invoke);
    const outcome = this.outcome(name, op, definition, running);
    if (id !== undefined) session.outcomes.record(id, outcome);
    return outcome;
  }

  /** One-way means no result, not no error: its ack waits for the handler, so `ok` means it happened. */
  private async outcome(name: string, op: string, definition: OperationDefinition, running: Promise<unknown>): Promise<Ack> {
    try {
      const value = await running;
      if (definition.oneWay) return { ok: true };
      const result = definition.result.safeParse(value);
      if (result.success) return { ok: true, result: result.data };
      this.logger.error(`${name}.${op} returned a result its contract does not allow`);
      return { ok: false, error: { code: 'INTERNAL', message: 'internal error' } };
    } catch (error) {
      return this.failed(error, true);
    }
  }
}
