/**
 * The command's reason and conversation rules as configured now, for a request asked for under older
 * ones (a restart with a stricter config): what it asked with must still be what the command takes, as
 * its requester's role must. Checked at the claim (claim.ts) and at an approval of a request still to
 * be decided (decision.ts), which ends it there rather than have it fail at the claim.
 */
import type { RequesterRule } from '../catalog';
import { describeKind, outsideConversations } from '../policy';
import { reasonRuleWords } from '../policy-words';
import { GOOD_REASON, reasonProblem, type ReasonPolicy } from '../reason';
import { RefusalReason } from '../refusal';
import type { ApprovalRequest } from '../request';

/** The rules of asking for the command as configured now. */
export interface AskingRules {
  /** The command's reason rule now (absent: a reason is optional). */
  reason?: ReasonPolicy;
  /** Where the command may be asked for now (absent: anywhere). */
  conversations?: Pick<RequesterRule, 'conversationTypes' | 'conversationIds'>;
}

/** A rule of asking the request no longer meets: its refusal reason, the rule and how it is broken, and how to ask again. */
export interface BrokenAskingRule {
  reason: RefusalReason.ReasonRuleTightened | RefusalReason.ConversationRuleTightened;
  /** 'the reason rule of "…" (policy.reason) changed after it was asked for, and …' (no closing full stop). */
  rule: string;
  /** 'with a reason the rule now takes (…)', 'from a conversation the rule now allows'. */
  askAgain: string;
}

/** Which rule of asking (reason, then conversations) the request no longer meets under `current`, named, or undefined. */
export function askingRuleBroken(r: ApprovalRequest, current: AskingRules): BrokenAskingRule | undefined {
  // The reason is checked as it was when asked for: against the command and its parameters typed again.
  const problem = reasonProblem(r.reason ?? r.breakGlass?.reason, current.reason, [r.command, ...Object.values(r.parameters)].join(' '));
  if (problem) {
    const said = problem.replace(GOOD_REASON, '').trim().replace(/[.\s]+$/, '');
    return {
      reason: RefusalReason.ReasonRuleTightened,
      rule: `the reason rule of "${r.command}" (policy.reason) changed after it was asked for, and its reason no longer meets it: ${said}`,
      askAgain: `with a reason the rule now takes (${reasonRuleWords(current.reason)})`,
    };
  }
  const outside = current.conversations ? outsideConversations(current.conversations, r.source) : undefined;
  if (!outside || !current.conversations) return undefined;
  const where = outside === 'type'
    ? `only in a ${current.conversations.conversationTypes.map(describeKind).join(' or ')} (policy.conversations.types), and it was asked for in a ${describeKind(r.source.conversationType)}`
    : `only in ${current.conversations.conversationIds.length === 1 ? '1 listed conversation' : `${current.conversations.conversationIds.length} listed conversations`} (policy.conversations.ids), not the one it was asked for in`;
  return {
    reason: RefusalReason.ConversationRuleTightened,
    rule: `the conversations rule of "${r.command}" changed after it was asked for: it may now be asked for ${where}`,
    askAgain: 'from a conversation the rule now allows',
  };
}

/** What a request that ends for a broken rule of asking stores as its outcome (and its requester is told): what the claim says. */
export function askingRuleDetail(broken: BrokenAskingRule): string {
  return `Not executed: ${broken.rule}. Nothing was sent to Azure: ask again, ${broken.askAgain}.`;
}
