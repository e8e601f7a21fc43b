/** What a typed or submitted request must hold before it is asked for: its parameters and, where its policy requires one, its reason. */
import { checkParameters, reasonKeywordTwiceMessage, reasonsTyped, reasonTypedTwiceMessage, type CommandSpec, type ParameterCheck, type ParsedCommand } from './catalog';
import { reasonProblem } from './reason';

/**
 * The parameters' check, and the reason's when the command's policy requires one: a missing or
 * empty reason is a problem like a missing value, so the form asks for it.
 */
export function checkRequestInput(command: CommandSpec, parsed: Pick<ParsedCommand, 'args' | 'named' | 'problems' | 'reason'>): ParameterCheck {
  const check = checkParameters(command, parsed);
  const values = check.values;
  // Two reasons typed as one (`reason: x reason: y`), or the keyword twice (`reason: reason: x`),
  // required or not: which words are the reason is the person's to say.
  const typed = reasonsTyped(parsed.reason);
  const problem = typed ? reasonTypedTwiceMessage(typed) : reasonKeywordTwiceMessage(parsed.reason) ?? reasonProblem(parsed.reason, command.policy?.reason, [command.name, ...Object.values(values)].join(' '));
  if (!problem) return check;
  const reasonIssue = { parameter: 'reason', message: problem, ...(parsed.reason?.trim() ? {} : { missing: true }) };
  return { ok: false, values, problems: [...(check.ok ? [] : check.problems), reasonIssue] };
}
