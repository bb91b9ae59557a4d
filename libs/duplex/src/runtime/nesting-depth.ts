/**
 * How deep the arguments of a call, or a client's answer to a callback, may
 * nest arrays and objects, counting the outermost one: the JSON `[[1]]` is 2
 * deep. Checked before anything recursive (JSON.stringify, zod) sees the
 * value, so a frame nested 10,000 deep is a BAD_REQUEST, not a RangeError.
 */
export const MAX_NESTING_DEPTH = 64;

/** Whether `value` nests arrays and objects more than `limit` deep (the value itself is level 1). Iterative: it never overflows the stack. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[object, number]> = [];
  if (value !== null && typeof value === 'object') stack.push([value, 1]);
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}
