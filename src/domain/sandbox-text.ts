/**
 * Without an Azure subscription configured, Countersign runs against the local ARM sandbox, and every
 * reply, message and card about it says so first: nobody should take a sandbox success for a change
 * in Azure.
 */
const SANDBOX_PREFIX = '[SANDBOX]';

/** The text as shown for a sandbox request or reply; marked once, however many layers pass it on. */
export function sandboxText(text: string, sandbox: boolean): string {
  return sandbox && !text.startsWith(SANDBOX_PREFIX) ? `${SANDBOX_PREFIX} ${text}` : text;
}
