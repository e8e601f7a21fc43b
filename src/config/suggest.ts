import { editDistance } from '../domain/edit-distance';

/**
 * "Did you mean": the closest of the known names to a misspelt one, when it is close enough to be
 * a slip of the fingers (at most a third of its letters wrong, two at least allowed; or its case).
 */
function closest(typed: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // A name that differs only in case (managedidentity for managedIdentity) is a slip too.
  return best !== undefined && best !== typed && bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

/** " (did you mean approvals?)", or nothing. */
export function didYouMean(typed: string, known: readonly string[]): string {
  const guess = closest(typed, known);
  return guess ? ` (did you mean ${guess}?)` : '';
}

/**
 * What is said of a role a list names that `roles` does not declare: the one wording, so that these
 * can be left unsaid when `roles` itself could not be read (each would be a consequence, not a mistake).
 */
export function undeclaredRole(role: string, declared: readonly string[]): string {
  return `role "${role}" is not declared under roles${didYouMean(role, declared)} (declared: ${declared.join(', ')})`;
}

/** Whether a problem is an undeclaredRole one. */
export function isUndeclaredRole(problem: string): boolean {
  return /^role ".*" is not declared under roles/s.test(problem);
}
