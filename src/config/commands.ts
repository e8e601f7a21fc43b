/**
 * One command of the catalog built from the config: its parameters and operation checked, whether it
 * is sensitive, its policy (roles declared, quorum, time to live, reason, reach, schedule,
 * break-glass), or a read-only command's readers.
 */
import { type CommandPolicy, type CommandSpec, type ParameterSpec, type RequesterRule } from '../domain/catalog';
import { CHANGE_KINDS } from '../domain/operation';
import { DEFAULT_REASON_MIN_LENGTH } from '../domain/reason';
import { buildRequirements } from './requirements';
import { buildReach } from './reach';
import { OPERATION_FIELDS, RESERVED_COMMANDS } from './schema';
import type { RawCommand, RawConfig } from './types';
import { undeclaredRole } from './suggest';
import { type At } from './validate';
import { buildBreakGlass, buildSchedule } from './schedule';
import { ConfigTemplates } from './templates';
import { durationOrZero } from './duration';
import { checkOperation } from './operation-checks';
import { buildParameter } from './parameters';

const DEFAULT_TTL = '4h';

/** The longest time to live (`ttl`) a command's requests may have. */
const MAX_TTL_SECONDS = 90 * 86400;

export function buildCommand(c: RawCommand, i: number, input: RawConfig, at: At, templates: ConfigTemplates): CommandSpec {
  const key = ['commands', i];
  const first = c.name.split(' ')[0];
  if (RESERVED_COMMANDS.includes(first)) at([...key, 'name'], `"${first}" is a built-in command word; choose another name`);
  const parameters = (c.parameters ?? []).map((p, j) => buildParameter(p, [...key, 'parameters', j], at));
  // An unknown kind (refused by the schema, named again below) is taken as one that changes Azure,
  // so that the rest of the command is still checked as written, without claims about reading.
  const knownKind = Object.hasOwn(OPERATION_FIELDS, c.operation.kind);
  const isChange = !knownKind || (CHANGE_KINDS as readonly string[]).includes(c.operation.kind);
  const sensitive = c.sensitive ?? isChange;
  if (knownKind && isChange && !sensitive) {
    at([...key, 'sensitive'], `operation ${c.operation.kind} changes Azure, so the command must be sensitive (approved by a second person)`);
  }
  if (!isChange && sensitive) at([...key, 'sensitive'], `operation ${c.operation.kind} only reads; mark the command sensitive: false`);
  if (!isChange && c.risk) at([...key, 'risk'], `operation ${c.operation.kind} only reads, so it carries no risk to state; remove risk`);
  if (sensitive && !c.policy) at([...key], 'a sensitive command needs a policy (at least approverRoles)');
  checkOperation(c.operation, parameters, [...key, 'operation'], at, templates);

  if (c.policy && !isChange) return { ...spec(c, sensitive, parameters), ...readersOf(c, key, input, at) };
  let policy: CommandPolicy | undefined;
  if (c.policy) {
    const roleCheck = policyRoleCheck(key, input, at);
    roleCheck(c.policy.approverRoles, 'approverRoles');
    roleCheck(c.policy.requesterRoles, 'requesterRoles');
    const quorum = buildRequirements(c, [...key, 'policy'], input, at);
    const base = {
      approvals: quorum ? quorum.reduce((n, req) => n + req.count, 0) : (c.policy.approvals ?? input.defaults?.approvals ?? 1),
      approverRoles: quorum ? quorum.flatMap((req) => req.roles) : (c.policy.approverRoles ?? []),
      ...(quorum ? { requirements: quorum } : {}),
      requesterRoles: c.policy.requesterRoles ?? [],
      ttlSeconds: durationOrZero(c.policy.ttl ?? input.defaults?.ttl ?? DEFAULT_TTL),
      conversationTypes: c.policy.conversations?.types ?? ['personal', 'groupChat', 'channel'],
      conversationIds: c.policy.conversations?.ids ?? [],
      ...(c.policy.reason?.required ? { reason: { required: true, minLength: c.policy.reason.minLength ?? DEFAULT_REASON_MIN_LENGTH } } : {}),
    };
    if (base.ttlSeconds > MAX_TTL_SECONDS) {
      const where = c.policy.ttl !== undefined ? [...key, 'policy', 'ttl'] : ['defaults', 'ttl'];
      at(where, `a request may wait at most 90d for its approvals: an approval given months after the request approves what may no longer be meant (got ${c.policy.ttl ?? input.defaults?.ttl})`);
    }
    if (c.policy.reason?.minLength !== undefined && !c.policy.reason.required) {
      at([...key, 'policy', 'reason', 'minLength'], 'minLength applies only when the reason is required; add required: true');
    }
    const schedule = buildSchedule(c, i, input, at);
    const breakGlass = buildBreakGlass(c, i, input, at);
    policy = { ...base, ...buildReach(c, i, input, base, at), ...(schedule ? { schedule } : {}), ...(breakGlass ? { breakGlass } : {}) };
  }
  return { ...spec(c, sensitive, parameters), ...(policy ? { policy } : {}) };
}

/** Checks that every role a list of the command's policy names is declared. */
function policyRoleCheck(key: (string | number)[], input: RawConfig, at: At): (list: string[] | undefined, field: string) => void {
  const declared = Object.keys(input.roles);
  return (list, field) =>
    (list ?? []).forEach((r, j) => {
      if (!declared.includes(r)) at([...key, 'policy', field, j], undeclaredRole(r, declared));
    });
}

function spec(c: RawCommand, sensitive: boolean, parameters: ParameterSpec[]): CommandSpec {
  return { name: c.name, description: c.description, sensitive, ...(c.risk ? { risk: c.risk } : {}), parameters, operation: c.operation };
}

/** What a read-only command's policy may say: who may run it and from where. */
const READER_KEYS = ['requesterRoles', 'conversations'];

/** A read-only command's policy: nothing is approved, so only who may run it and from where. */
function readersOf(c: RawCommand, key: (string | number)[], input: RawConfig, at: At): { readers: RequesterRule } {
  const policy = c.policy!;
  for (const k of Object.keys(policy).filter((k) => !READER_KEYS.includes(k))) {
    at([...key, 'policy', k], `operation ${c.operation.kind} only reads, so nothing is approved: a read-only command's policy says only who may run it and from where (${READER_KEYS.join(', ')}); remove ${k}`);
  }
  policyRoleCheck(key, input, at)(policy.requesterRoles, 'requesterRoles');
  return {
    readers: {
      requesterRoles: policy.requesterRoles ?? [],
      conversationTypes: policy.conversations?.types ?? ['personal', 'groupChat', 'channel'],
      conversationIds: policy.conversations?.ids ?? [],
    },
  };
}
