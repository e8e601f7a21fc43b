/**
 * What the current config says of asking for the request's command, for a request asked for under an
 * older one (a restart with another config): the command must still be a sensitive one, its requester
 * must still hold one of its requester roles (a break-glass use, still its break-glass roles), and what
 * it asked with (its reason, its conversation) must still be what the command takes. Checked at the
 * claim (claim.ts) and at an approval of a request still to be decided (decision.ts), which ends it
 * there rather than have it fail at the claim.
 */
import { describeKind, outsideConversations } from '../policy';
import { reasonRuleWords } from '../policy-words';
import { GOOD_REASON, reasonProblem } from '../reason';
import { RefusalReason } from '../refusal';
import { distinctNamer } from '../display-names';
import type { Actor, ApprovalRequest } from '../request';
import type { AskingRules, CommandGone } from './asking-now';
import { runsOnBreakGlass } from './break-glass';

export type { AskingRules, CommandGone } from './asking-now';

/** A rule of asking the request no longer meets: its refusal reason, the rule and how it is broken, and how to ask again. */
export interface BrokenAskingRule {
  reason: RefusalReason.CommandRemoved | RefusalReason.RequesterLostRole | RefusalReason.BreakGlassWithdrawn | RefusalReason.ReasonRuleTightened | RefusalReason.ConversationRuleTightened;
  /** 'the reason rule of "…" (policy.reason) changed after it was asked for, and …' (no closing full stop). */
  rule: string;
  /** 'with a reason the rule now takes (…)', 'from a conversation the rule now allows' (absent: asking again is no way out). */
  askAgain?: string;
}

/**
 * Which rule of asking the request no longer meets under `current`, named, or undefined: its command is
 * gone, then its requester lost the role (or a break-glass use its break-glass), then its reason, then
 * its conversation. `others` are the people who will read it beside the request's own (whoever clicked
 * an approval): a namesake of the requester among them is told apart from the requester (display-names.ts).
 */
export function askingRuleBroken(r: ApprovalRequest, current: AskingRules | CommandGone, others: readonly Actor[] = []): BrokenAskingRule | undefined {
  if ('commandGone' in current) return commandGoneRule(current);
  // What was asked for runs only while the person who asked may still ask for it (offboarding stops
  // what they had scheduled), and a break-glass use only while they may still use break-glass for it.
  if (current.requesterMay === false) {
    return { reason: RefusalReason.RequesterLostRole, rule: `${distinctNamer(r, others)(r.requester).name}, who asked for it, no longer holds a role that may ask for "${r.command}"` };
  }
  if (current.breakGlassWithdrawn && runsOnBreakGlass(r)) {
    return { reason: RefusalReason.BreakGlassWithdrawn, rule: `it was a break-glass use, and ${current.breakGlassWithdrawn}` };
  }
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

/** A command taken out of the config (or made read-only) runs nothing more, break-glass uses included: that is how an operator stops a command. */
export function commandGoneRule(current: CommandGone): BrokenAskingRule {
  return { reason: RefusalReason.CommandRemoved, rule: current.commandGone };
}

/** What a request that ends for a broken rule of asking stores as its outcome (and its requester is told): what the claim says. */
export function askingRuleDetail(broken: BrokenAskingRule): string {
  return `Not executed: ${broken.rule}. Nothing was sent to Azure${broken.askAgain ? `: ask again, ${broken.askAgain}` : ''}.`;
}
