/**
 * What Azure Resource Manager takes as an API version and as a deployment's name. Both are checked
 * before anyone is asked to approve: a value ARM refuses would otherwise be approved by two people
 * and only then fail at Azure.
 */

/** ARM's API versions: a date, then -preview, -alpha, -beta or -privatepreview (2024-07-01, 2023-05-01-preview). */
const API_VERSION = /^(\d{4})-(\d{2})-(\d{2})(-(preview|alpha|beta|privatepreview))?$/;

/** Why a text is not an API version ARM takes, or undefined. */
export function apiVersionProblem(text: string): string | undefined {
  const m = API_VERSION.exec(text);
  const month = m ? Number(m[2]) : 0;
  const day = m ? Number(m[3]) : 0;
  if (m && month >= 1 && month <= 12 && day >= 1 && day <= 31) return undefined;
  const lower = text.toLowerCase();
  const hint = lower !== text && API_VERSION.test(lower) ? ` (write ${lower}: API versions are lowercase)` : '';
  return `apiVersion must be an API version of the resource's provider as Azure writes it, a date YYYY-MM-DD with -preview, -alpha, -beta or -privatepreview after it or nothing, such as 2024-07-01 or 2023-05-01-preview${hint}; "latest" and other words are refused by Azure after approval (got ${JSON.stringify(text.slice(0, 80))})`;
}

/**
 * The characters Countersign takes in a deployment's name: A-Z, a-z, 0-9, `_`, `(`, `)`, `-` and `.`.
 * Azure's pattern (`^[-\w._()]+$`, 1 to 64 characters) reads `\w` as .NET does, so it may also take
 * other letters and digits (é, ж, 名, ٣); Countersign does not, on purpose: a deployment's name is on the
 * card and in the audit trail and names the deployment `deploymentOperations` reads, and a name of
 * such letters can look like another (Cyrillic "а" for Latin "a", "é" written as one character or as
 * e and an accent), while Azure's documentation says only "alphanumerics" and an untried character
 * that Azure refused would be found after two people approved.
 */
export const DEPLOYMENT_NAME_CHARACTER = /[A-Za-z0-9_().-]/;

/** What every refusal of a deployment name's character says is taken. */
const DEPLOYMENT_NAME_TAKES = 'A-Z, a-z, 0-9, _, (, ), - and . only';

/** A character of a deployment name as a refusal names it: quoted, and by its code point beyond ASCII (an accent alone shows nothing). */
export function shownCharacter(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x80 ? JSON.stringify(ch) : `${JSON.stringify(ch)} (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * Who does not take a character refused in a deployment's name, and what is taken: Azure, for one
 * its pattern refuses (a space, `+`, `/`); Countersign, for a letter, digit or mark beyond ASCII,
 * which Azure may take (see DEPLOYMENT_NAME_CHARACTER).
 */
export function deploymentNameRefuses(ch: string): string {
  return /[\p{L}\p{N}\p{M}\p{Pc}]/u.test(ch)
    ? `Countersign does not take in a deployment's name (${DEPLOYMENT_NAME_TAKES}: Azure may take other letters and digits, but a name of them can look like another, Cyrillic "а" like Latin "a")`
    : `Azure does not take in a deployment's name (${DEPLOYMENT_NAME_TAKES})`;
}

/** The longest deployment name ARM takes. */
export const MAX_DEPLOYMENT_NAME = 64;

/** Why a deployment name (placeholders filled) is not one ARM takes, or undefined. */
export function deploymentNameProblem(name: string): string | undefined {
  const quoted = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length === 0) return 'deploymentName is empty: Azure takes 1 to 64 characters';
  const bad = [...name].find((ch) => !DEPLOYMENT_NAME_CHARACTER.test(ch));
  if (bad !== undefined) return `deploymentName ${quoted} holds ${shownCharacter(bad)}, which ${deploymentNameRefuses(bad)}`;
  if (name.length > MAX_DEPLOYMENT_NAME) return `deploymentName ${quoted} is ${name.length} characters long: Azure takes at most ${MAX_DEPLOYMENT_NAME}`;
  return undefined;
}
