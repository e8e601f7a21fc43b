/**
 * Azure's cause of a failure in one line: ARM wraps the real reason ("The SKU is not available in
 * westeurope") in generic codes ("DeploymentFailed: At least one resource deployment operation
 * failed"), so the deepest specific detail is the cause a person needs.
 */
import type { ArmError } from './operation';

const GENERIC = /^(DeploymentFailed|Conflict|ResourceDeploymentFailure|InvalidTemplateDeployment|BadRequest)\b/i;
const DOC_LINK = /https:\/\/(?:aka\.ms|learn\.microsoft\.com|docs\.microsoft\.com)\/[A-Za-z0-9/_\-.#?=&%]*[A-Za-z0-9/_\-#=&%]/g;

/** "Please see <link> for usage details." as ARM appends it. */
const SEE_LINK = new RegExp(`\\s*(?:please\\s+)?see\\s+${DOC_LINK.source}(?:\\s+for(?:\\s+usage)?\\s+details)?\\.?`, 'gi');

/** The most specific reason Azure gave, as one line (no URLs: those are shown as links apart). */
export function failureCause(error: ArmError): string {
  const lines = [...(error.details ?? [])].map((d) => d.trim()).filter(Boolean);
  const specific = lines.filter((l) => !GENERIC.test(l)).at(-1) ?? lines.at(-1);
  const cause = specific ?? `${error.code}: ${error.message}`;
  return oneLine(cause.replace(SEE_LINK, '').replace(DOC_LINK, ''));
}

/** Microsoft's documentation links in Azure's error text (aka.ms, learn.microsoft.com), at most three. */
export function documentationLinks(error: ArmError): string[] {
  const text = [error.message, ...(error.details ?? [])].join('\n');
  return [...new Set(text.match(DOC_LINK) ?? [])].slice(0, 3);
}

/** Azure's text with its documentation links taken out (they are shown as links apart). */
export function withoutDocumentationLinks(text: string): string {
  return text.replace(SEE_LINK, '').replace(DOC_LINK, '').trim();
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim().replace(/[\s.]*$/, '');
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}
