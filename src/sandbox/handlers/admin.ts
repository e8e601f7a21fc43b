/**
 * /_sandbox/*: the control surface for a test or demo running in another process. Not part of ARM,
 * needs no token. POST /_sandbox/faults/{throttle|ambiguousFailure|stall|truncatedBody|failDeployment|slowDeployment|denyAction|restrictTo|drift}
 * with the fault's JSON options, DELETE /_sandbox/faults, POST /_sandbox/reset, GET /_sandbox/state.
 *
 * A fault request that would do nothing (an unknown fault, a field it does not have or of the wrong
 * type, a drift that changes nothing) is answered 400 naming what is wrong, never a silent 204.
 */
import type { SandboxContext } from '../context';
import { ArmHttpError, armErrors, isRecord, json, type ArmErrorBody, type SandboxRequest, type SandboxResponse } from '../http';

export interface AdminHooks {
  /** Puts the subscription back to its seed and clears every fault. */
  reset(): void;
}

export function handleAdmin(req: SandboxRequest, ctx: SandboxContext, hooks: AdminHooks): SandboxResponse {
  const route = `${req.method} ${req.path.replace(/^\/_sandbox/i, '').toLowerCase()}`;
  const { faults, state } = ctx;
  const fault = req.method === 'POST' ? /^\/_sandbox\/faults\/([^/]+)$/i.exec(req.path) : null;
  if (fault) {
    injectFault(fault[1], req.body, ctx);
    return { status: 204 };
  }
  switch (route) {
    case 'GET /health':
      return json(200, { status: 'ok', subscriptionId: state.subscriptionId });
    case 'GET /state':
      return json(200, {
        subscriptionId: state.subscriptionId,
        subscriptionTags: state.subscriptionTags,
        resourceGroups: state.resourceGroups(),
        resources: state.resources(),
      });
    case 'POST /reset':
      hooks.reset();
      return { status: 204 };
    case 'DELETE /faults':
      faults.clear();
      return { status: 204 };
    default:
      throw new ArmHttpError(404, { code: 'NotFound', message: `No sandbox control endpoint ${req.method} ${req.path}.` });
  }
}

/** What a field of a fault's body must be, and how that is said. */
interface FieldCheck {
  ok(value: unknown): boolean;
  says: string;
}

const text: FieldCheck = { ok: (v) => typeof v === 'string' && v !== '', says: 'a non-empty string' };
const count: FieldCheck = { ok: (v) => Number.isInteger(v) && (v as number) > 0, says: 'a whole number above 0' };
const milliseconds: FieldCheck = { ok: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, says: 'a number of milliseconds, 0 or more' };
const seconds: FieldCheck = { ok: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, says: 'a number of seconds, 0 or more' };
const flag: FieldCheck = { ok: (v) => typeof v === 'boolean', says: 'true or false' };
const texts: FieldCheck = { ok: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string' && a !== ''), says: 'an array of non-empty strings' };
const object: FieldCheck = { ok: isRecord, says: 'a JSON object' };
const tagPatch: FieldCheck = {
  ok: (v) => isRecord(v) && Object.values(v).every((t) => typeof t === 'string' || t === null),
  says: 'an object of tag values (a string, or null to remove the tag)',
};
const armError: FieldCheck = {
  ok: (v) => isRecord(v) && typeof v.code === 'string' && typeof v.message === 'string',
  says: 'an ARM error body: {"code": "...", "message": "..."}',
};

const MATCH = { method: text, pathContains: text };

/** Every fault, by the name in its path (any case), with its fields and those it cannot do without. */
const FAULTS: Record<string, { name: string; fields: Record<string, FieldCheck>; required?: string[] }> = {
  throttle: { name: 'throttle', fields: { ...MATCH, count, retryAfterSeconds: seconds, unavailable: flag } },
  ambiguousfailure: { name: 'ambiguousFailure', fields: { ...MATCH, count } },
  stall: { name: 'stall', fields: { ...MATCH, ms: milliseconds, count }, required: ['ms'] },
  truncatedbody: { name: 'truncatedBody', fields: { ...MATCH, count } },
  redirectstatus: { name: 'redirectStatus', fields: { ...MATCH, count, to: text }, required: ['to'] },
  faildeployment: { name: 'failDeployment', fields: { deploymentName: text, resourceName: text, error: armError } },
  slowdeployment: { name: 'slowDeployment', fields: { deploymentName: text, stepMs: milliseconds }, required: ['stepMs'] },
  denyaction: { name: 'denyAction', fields: { action: text, scope: text }, required: ['action'] },
  restrictto: { name: 'restrictTo', fields: { actions: texts }, required: ['actions'] },
  drift: { name: 'drift', fields: { resourceId: text, tags: tagPatch, sku: object, properties: object, kind: text }, required: ['resourceId'] },
};

const invalidFault = (message: string) => armErrors.badRequest('InvalidFault', message);

/** Checks the body against the fault's fields, then injects it. */
function injectFault(pathName: string, rawBody: unknown, ctx: SandboxContext): void {
  const spec = FAULTS[pathName.toLowerCase()];
  if (!spec) {
    throw invalidFault(`There is no fault '${pathName}'. The faults are ${Object.values(FAULTS).map((f) => f.name).join(', ')}.`);
  }
  if (rawBody !== undefined && !isRecord(rawBody)) throw invalidFault(`${spec.name} takes a JSON object of its options.`);
  const body = rawBody ?? {};
  const fieldNames = Object.keys(spec.fields);
  for (const [key, value] of Object.entries(body)) {
    const check = spec.fields[key];
    if (!check) throw invalidFault(`${spec.name} has no field '${key}': its fields are ${fieldNames.join(', ')}.`);
    if (!check.ok(value)) throw invalidFault(`${spec.name}'s ${key} must be ${check.says}.`);
  }
  const missing = (spec.required ?? []).filter((key) => !(key in body));
  if (missing.length > 0) throw invalidFault(`${spec.name} needs ${missing.join(' and ')}.`);

  const { faults } = ctx;
  switch (spec.name) {
    case 'throttle':
      faults.throttle(body);
      return;
    case 'ambiguousFailure':
      faults.ambiguousFailure(body);
      return;
    case 'stall':
      faults.stall({ ...body, ms: body.ms as number });
      return;
    case 'truncatedBody':
      faults.truncatedBody(body);
      return;
    case 'redirectStatus':
      faults.redirectStatus({ ...body, to: body.to as string });
      return;
    case 'failDeployment':
      faults.failDeployment({ ...body, ...(body.error ? { error: body.error as ArmErrorBody } : {}) });
      return;
    case 'slowDeployment':
      faults.slowDeployment({ ...body, stepMs: body.stepMs as number });
      return;
    case 'denyAction':
      faults.denyAction(body.action as string, body.scope as string | undefined);
      return;
    case 'restrictTo':
      faults.restrictTo(body.actions as string[]);
      return;
    case 'drift': {
      const { resourceId, ...change } = body as { resourceId: string } & Record<string, unknown>;
      const isGroup = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/*$/i.test(resourceId);
      if (isGroup && !('tags' in change)) {
        throw invalidFault(`drift of the resource group ${resourceId} needs tags: a group drifts only in its tags.`);
      }
      if (isGroup && Object.keys(change).length > 1) {
        throw invalidFault(`drift of a resource group changes only its tags, not ${Object.keys(change).filter((k) => k !== 'tags').join(', ')}.`);
      }
      if (Object.keys(change).length === 0) throw invalidFault(`drift of ${resourceId} needs what changes: tags, sku, properties or kind.`);
      if (!Object.values(change).some((v) => !isRecord(v) || Object.keys(v).length > 0)) {
        throw invalidFault(`drift of ${resourceId} changes nothing: ${Object.keys(change).join(' and ')} ${Object.keys(change).length > 1 ? 'are' : 'is'} empty.`);
      }
      faults.drift(resourceId, change);
      return;
    }
  }
}
