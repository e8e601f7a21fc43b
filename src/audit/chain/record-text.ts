/**
 * What a reader of stored or exported records says of a record it cannot take as written: the kinds
 * of chain problem, the defect a record source throws, and whether a text is the canonical form it
 * was sealed in. Below the formats (which read records) and verification (which reports them).
 */
import { fastCanonicalJson } from './seal-json-fast';

export type ChainProblemKind = 'edited' | 'deleted' | 'reordered' | 'duplicated' | 'broken-link';

/**
 * Thrown by a record source when what it read is not a well-formed record (a line that is not JSON,
 * a database row whose columns disagree with its record). verifyChain reports it as the problem.
 */
export class ChainDefect extends Error {
  constructor(
    readonly kind: ChainProblemKind,
    message: string,
    /** Undefined when the source cannot tell: the seq expected at that place is used. */
    readonly seq?: number,
    readonly recordId = '',
  ) {
    super(message);
    this.name = 'ChainDefect';
  }
}

/**
 * Whether `text` is exactly the canonical form of what it parses to, as the sealer stored it. A text
 * that is not (a member repeated, members reordered, whitespace added) can hash as intact, since
 * JSON.parse keeps the last of two equal keys, while a reader that keeps the first (SQLite's
 * json_extract, many JSON libraries) sees other values than the hash vouches for.
 */
export function isCanonicalText(text: string, parsed: unknown): boolean {
  try {
    return fastCanonicalJson(parsed) === text;
  } catch {
    return false;
  }
}

/** The sentence verification reports for a stored or exported text that is not in canonical form. */
export const NOT_CANONICAL = 'its text is not the canonical form it was sealed in (a member repeated or reordered, or spacing added), so readers could see other values than its hash vouches for';
