/**
 * What a command in the catalog is: its parameters, its approval policy and the operation it
 * resolves to, and what matching and checking say about a request for it.
 */
import type { OperationSpec } from '../operation';
import type { ReasonPolicy } from '../reason';
import type { ConversationKind, EscalationPolicy, NotifyPolicy, ReminderPolicy, Requirement } from '../request';
import type { RiskLevel } from '../risk';
import type { SchedulePolicy } from '../schedule';
import type { BreakGlassPolicy } from '../request';

export type ParameterType = 'string' | 'enum' | 'integer';

export interface ParameterSpec {
  name: string;
  description?: string;
  type: ParameterType;
  allowed?: string[];
  pattern?: string;
  /**
   * The pattern as the config compiled it, to run in time linear in the value (RE2); a spec built
   * without it (tests) is checked with RegExp.
   */
  matches?: (value: string) => boolean;
  min?: number;
  max?: number;
  /** Used when the requester leaves it out; a parameter with a default is optional. */
  default?: string;
}

/** Who may ask for a command, and from where: a sensitive command's policy, or a read-only command's `readers`. */
export interface RequesterRule {
  /** Empty: anyone from an allowed tenant may request. */
  requesterRoles: string[];
  conversationTypes: ConversationKind[];
  /** Empty: any conversation of an allowed type. */
  conversationIds: string[];
}

export interface CommandPolicy extends RequesterRule {
  /** All approvals needed (with requirements: their counts added up). */
  approvals: number;
  /** Every role that approves (with requirements: theirs together). */
  approverRoles: string[];
  /** A quorum across roles (absent: `approvals` from any of `approverRoles`, one requirement). */
  requirements?: Requirement[];
  /** A reason the requester must give (absent: a reason is optional). */
  reason?: ReasonPolicy;
  ttlSeconds: number;
  /** Who is told when a request needs deciding (absent: each approver in a personal chat, no channels). */
  notify?: NotifyPolicy;
  reminders?: ReminderPolicy;
  escalation?: EscalationPolicy;
  /** Maintenance windows and how long an approval stays valid (maxScheduleAhead). */
  schedule?: SchedulePolicy;
  /** Absent: break-glass can never be used for the command. */
  breakGlass?: BreakGlassPolicy;
}

/** The operation as written in the config: strings may hold {parameter} placeholders. */
export type OperationTemplate = { kind: OperationSpec['kind'] } & Record<string, unknown>;

export interface CommandSpec {
  name: string;
  description: string;
  sensitive: boolean;
  /** As stated in the config; absent: it follows from the operation (domain/risk.ts). */
  risk?: RiskLevel;
  parameters: ParameterSpec[];
  operation: OperationTemplate;
  /** Present for sensitive commands. */
  policy?: CommandPolicy;
  /** A read-only command's policy, when it has one: who may run it and from where (nothing is approved). */
  readers?: RequesterRule;
}

export interface ParsedCommand {
  command: CommandSpec;
  /** Positional words after the command name, in declared parameter order. */
  args: string[];
  /** name=value words, which may come in any order. */
  named: Record<string, string>;
  /** What is wrong with the words themselves: a parameter given twice by name, a double quote never closed. */
  problems?: ParameterProblem[];
  reason?: string;
}

export interface ParameterProblem {
  parameter: string;
  message: string;
  /** True when no value was given at all (a form does not show that as an error before the person typed). */
  missing?: boolean;
}

export type ParameterCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; values: Record<string, string>; problems: ParameterProblem[] };
