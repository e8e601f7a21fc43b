/**
 * The cards of asking for something: the form to complete a command's parameters, and the
 * confirmation before the request is made.
 */
import type { CommandSpec, ParameterProblem } from '../domain/catalog';
import { formatDuration, plural } from '../domain/duration-text';
import { listCard } from './lists';
import { whoMustApprove } from '../domain/policy-text';
import { inertLine } from '../domain/text-safety';
import { md } from './markdown';
import { type Card, render } from './render';

/** Input values are not markdown; only a "${" is broken (and restored on submit by `fromInput`). */
function inputValue(text: string): string {
  return text.replace(/\$\{/g, '$\u200B{');
}

/**
 * An input's placeholder or error message: plain text in Adaptive Cards, so not markdown-escaped (a
 * pattern shows as written), but one inert line like all card text, and no "${".
 */
function plainText(text: string): string {
  return inputValue(inertLine(text));
}

export function fromInput(text: string): string {
  return text.replace(/\$\u200B\{/g, '${');
}

export function formCard(command: CommandSpec, values: Record<string, string>, problems: ParameterProblem[], reason: string | undefined, sandbox: boolean): Card {
  return render('form', formCardView(command, values, problems, reason, sandbox));
}

/** What cards/form.json is expanded with. */
export function formCardView(command: CommandSpec, values: Record<string, string>, problems: ParameterProblem[], reason: string | undefined, sandbox: boolean): object {
  return {
    sandbox,
    title: md(`Complete your request: ${command.name}`),
    description: md(command.description),
    hasProblems: problems.length > 0,
    problems: problems.map((p) => ({ line: md(p.message) })),
    command: command.name,
    fields: command.parameters.map((p) => ({
      id: `param.${p.name}`,
      name: plainText(p.name),
      label: md(p.description ? `${p.name} (${p.description})` : p.name),
      isChoice: p.type === 'enum',
      choices: (p.allowed ?? []).map((a) => ({ title: md(a), value: a })),
      regex: p.pattern ?? (p.type === 'integer' ? '^-?[0-9]+$' : '^.+$'),
      hint: plainText(p.type === 'integer' ? `a whole number${p.min !== undefined ? ` from ${p.min}` : ''}${p.max !== undefined ? ` to ${p.max}` : ''}` : p.pattern ? `matching ${p.pattern}` : `the ${p.name}`),
      value: inputValue(values[p.name] ?? p.default ?? ''),
    })),
    reason: inputValue(reason ?? ''),
    reasonLabel: md(command.policy?.reason?.required ? `Reason (required, at least ${command.policy.reason.minLength} characters: why, and what for; shown to approvers)` : 'Reason (shown to approvers)'),
  };
}

export function confirmCard(command: CommandSpec, values: Record<string, string>, reason: string | undefined, sandbox: boolean, runAt?: string): Card {
  return render('confirm', confirmCardView(command, values, reason, sandbox, runAt));
}

/** What cards/confirm.json is expanded with (`runAt`: the run time as typed after `at`). */
export function confirmCardView(command: CommandSpec, values: Record<string, string>, reason: string | undefined, sandbox: boolean, runAt?: string): object {
  const policy = command.policy;
  return {
    sandbox,
    command: command.name,
    summary: md(`${command.name} ${Object.values(values).join(' ')}`),
    facts: [
      ...Object.entries(values).map(([k, v]) => ({ title: md(k), value: md(v) })),
      ...(reason ? [{ title: 'Reason', value: md(reason) }] : []),
      ...(runAt ? [{ title: 'Runs at', value: md(`${runAt} (once approved)`) }] : []),
    ],
    policyText: md(policy ? `Needs ${policy.requirements ? whoMustApprove(policy) : `${plural(policy.approvals, 'approval')} from ${policy.approverRoles.join(' or ')} (not you)`} within ${formatDuration(policy.ttlSeconds)}.` : ''),
  };
}

/** What a form or confirmation card becomes once answered, cancelled or replaced: words, no buttons. */
export function closedFormCard(title: string, text: string, sandbox: boolean): Card {
  return listCard(title, text, [], sandbox);
}
