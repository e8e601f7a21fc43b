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

/** The characters ARM takes in a deployment's name: letters, digits, `_`, `(`, `)`, `-` and `.`. */
export const DEPLOYMENT_NAME_CHARACTER = /[A-Za-z0-9_().-]/;

/** The longest deployment name ARM takes. */
export const MAX_DEPLOYMENT_NAME = 64;

/** Why a deployment name (placeholders filled) is not one ARM takes, or undefined. */
export function deploymentNameProblem(name: string): string | undefined {
  const quoted = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length === 0) return 'deploymentName is empty: Azure takes 1 to 64 characters';
  const bad = [...name].find((ch) => !DEPLOYMENT_NAME_CHARACTER.test(ch));
  if (bad !== undefined) return `deploymentName ${quoted} holds ${JSON.stringify(bad)}, which Azure does not take in a deployment's name (letters, digits, _, (, ), - and . only)`;
  if (name.length > MAX_DEPLOYMENT_NAME) return `deploymentName ${quoted} is ${name.length} characters long: Azure takes at most ${MAX_DEPLOYMENT_NAME}`;
  return undefined;
}
