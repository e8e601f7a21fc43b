/**
 * Freezes a value and everything it holds, so that a transition that writes to its input throws
 * (modules are strict) instead of silently changing a request another caller still holds.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
