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

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
