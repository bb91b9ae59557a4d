import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';

/**
 * One unit of work that may be retried, such as a call resent after a
 * reconnect, possibly on another node. What it writes and raises inside the
 * scope gets ids derived from its key and from the content, not from a
 * counter of this process: the retry writes the same ids, and the log (and
 * the callback path) applies each once. Content, not position, names an
 * effect, because a retry may skip a conditional write whose condition the
 * first run already made true (a stock that now exists).
 */
export interface IdempotencyScope {
  /** Unique per unit of work in the cluster, e.g. `<sessionId>:<callId>`. */
  key: string;
  /** How often each effect has been named in this run, so two equal effects get two ids. */
  occurrences: Map<string, number>;
}

export const idempotencyScope = new AsyncLocalStorage<IdempotencyScope>();

/** The id of an effect (described by `what`, computed only inside a scope) of the running unit of work; undefined outside one. */
export function derivedId(what: () => string): string | undefined {
  const scope = idempotencyScope.getStore();
  if (!scope) return undefined;
  const effect = what();
  const digest = effect.length > 40 ? createHash('sha1').update(effect).digest('base64url') : effect;
  const occurrence = scope.occurrences.get(digest) ?? 0;
  scope.occurrences.set(digest, occurrence + 1);
  return `${scope.key}#${digest}#${occurrence}`;
}

/** Whether an id was derived inside a scope (and so may come again from a retry). */
export function isDerivedId(id: string): boolean {
  return id.includes('#');
}
