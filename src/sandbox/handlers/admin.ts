/**
 * /_sandbox/*: the control surface for a test or demo running in another process. Not part of ARM,
 * needs no token. POST /_sandbox/faults/{throttle|ambiguousFailure|failDeployment|slowDeployment|denyAction|restrictTo|drift}
 * with the fault's JSON options, DELETE /_sandbox/faults, POST /_sandbox/reset, GET /_sandbox/state.
 */
import type { SandboxContext } from '../context';
import { ArmHttpError, armErrors, isRecord, json, type SandboxRequest, type SandboxResponse } from '../http';

export interface AdminHooks {
  /** Puts the subscription back to its seed and clears every fault. */
  reset(): void;
}

export function handleAdmin(req: SandboxRequest, ctx: SandboxContext, hooks: AdminHooks): SandboxResponse {
  const route = `${req.method} ${req.path.replace(/^\/_sandbox/i, '').toLowerCase()}`;
  const body = isRecord(req.body) ? req.body : {};
  const { faults, state } = ctx;
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
    case 'POST /faults/throttle':
      faults.throttle(body);
      return { status: 204 };
    case 'POST /faults/ambiguousfailure':
      faults.ambiguousFailure(body);
      return { status: 204 };
    case 'POST /faults/stall':
      if (typeof body.ms !== 'number') throw armErrors.badRequest('InvalidFault', 'stall needs a numeric ms.');
      faults.stall({ ...body, ms: body.ms });
      return { status: 204 };
    case 'POST /faults/faildeployment':
      faults.failDeployment(body as Parameters<typeof faults.failDeployment>[0]);
      return { status: 204 };
    case 'POST /faults/slowdeployment':
      if (typeof body.stepMs !== 'number') throw armErrors.badRequest('InvalidFault', 'slowDeployment needs a numeric stepMs.');
      faults.slowDeployment({ stepMs: body.stepMs, ...(typeof body.deploymentName === 'string' ? { deploymentName: body.deploymentName } : {}) });
      return { status: 204 };
    case 'POST /faults/denyaction':
      if (typeof body.action !== 'string') throw armErrors.badRequest('InvalidFault', 'denyAction needs an action.');
      faults.denyAction(body.action, typeof body.scope === 'string' ? body.scope : undefined);
      return { status: 204 };
    case 'POST /faults/restrictto':
      if (!Array.isArray(body.actions) || !body.actions.every((a) => typeof a === 'string')) {
        throw armErrors.badRequest('InvalidFault', 'restrictTo needs actions: string[].');
      }
      faults.restrictTo(body.actions as string[]);
      return { status: 204 };
    case 'POST /faults/drift': {
      if (typeof body.resourceId !== 'string') throw armErrors.badRequest('InvalidFault', 'drift needs a resourceId.');
      const { resourceId, ...change } = body;
      faults.drift(resourceId, change);
      return { status: 204 };
    }
    default:
      throw new ArmHttpError(404, { code: 'NotFound', message: `No sandbox control endpoint ${req.method} ${req.path}.` });
  }
}
