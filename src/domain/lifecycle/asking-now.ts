/**
 * What the current config says of asking for a request's command (a restart with another config may
 * have changed it since the request was made): the types the claim and a decision are handed, judged
 * in asking-rules.ts.
 */
import type { RequesterRule } from '../catalog';
import type { ReasonPolicy } from '../reason';

/** The current config no longer has the request's command as a sensitive one: why, in words. */
export interface CommandGone {
  commandGone: string;
}

/** The rules of asking for the command as configured now. */
export interface AskingRules {
  /** Whether the requester still holds one of the command's requester roles, or it has none (absent: not known, taken as yes). */
  requesterMay?: boolean;
  /** For a break-glass use: why the current config no longer lets the requester use it, if so. */
  breakGlassWithdrawn?: string;
  /** The command's reason rule now (absent: a reason is optional). */
  reason?: ReasonPolicy;
  /** Where the command may be asked for now (absent: anywhere). */
  conversations?: Pick<RequesterRule, 'conversationTypes' | 'conversationIds'>;
}
