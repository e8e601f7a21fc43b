/**
 * How risky a request is, in four bands an approver reads before anything else. A command may say
 * (`risk` in the config); otherwise it follows from what the operation does and where: destroying is
 * riskier than changing, production riskier than anything else, reading carries no risk.
 */
import { targetOf, type ChangeOperation } from './operation';

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export const RISK_LEVELS: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

/**
 * The environment vocabulary, in one place for the risk and the card's words. A parameter's whole
 * value names production as `prod`, `production`, `prd` or `live`; a resource group's name as one of
 * its words (split at `-`, `_`, `.`) only as `prod`, `production` or `prd` (`live` is too common a
 * word in names: `rg-live-video`). The other environments are named either way by these words.
 */
const PRODUCTION = /^(prod|production|prd|live)$/i;
const PRODUCTION_IN_NAME = /(^|[-_.])(prod|production|prd)([-_.]|$)/i;
const OTHER_ENVIRONMENT = /^(staging|stage|stg|test|dev|development|qa|uat|sandbox)$/i;

/** True when a parameter value or the target's resource group names production. */
function isProduction(parameters: Record<string, string>, resourceGroup?: string): boolean {
  if (Object.values(parameters).some((v) => PRODUCTION.test(v))) return true;
  return !!resourceGroup && PRODUCTION_IN_NAME.test(resourceGroup);
}

/** The parameter value that names an environment (`production`, `staging`), as typed, if any. */
export function environmentParameter(parameters: Record<string, string>): string | undefined {
  return Object.values(parameters).find((v) => PRODUCTION.test(v) || OTHER_ENVIRONMENT.test(v));
}

/**
 * Where a request runs, in one lower-case word: `production` (by the rule of `isProduction`, which
 * errs towards saying it), else the environment its resource group's name says (`staging-old`:
 * staging); undefined when the group says none. Any other environment is never taken from a
 * parameter's value: a value is what the requester typed, and need not be where the request runs (a
 * tag's value of `dev` written on a production group whose name says nothing, `set group tags corebank
 * staging ...`, a storage account named `test`), so the card said "in dev" or "in staging" of a group
 * nothing said was either.
 */
export function environmentOf(parameters: Record<string, string>, resourceGroup?: string): string | undefined {
  if (isProduction(parameters, resourceGroup)) return 'production';
  return resourceGroup?.split(/[-_.]/).find((part) => OTHER_ENVIRONMENT.test(part))?.toLowerCase();
}

/** The risk of an operation when its command does not state one. */
export function defaultRisk(op: ChangeOperation, parameters: Record<string, string>): RiskLevel {
  // The group a resource id or tag scope names counts as much as a named group: `production-vm/.../vm-web-01` is production.
  const production = isProduction(parameters, targetOf(op).resourceGroup);
  switch (op.kind) {
    case 'deleteResourceGroup':
      return 'critical';
    case 'deleteResource':
      return production ? 'critical' : 'high';
    case 'deployTemplate':
      // Complete mode deletes whatever the template does not list.
      if (op.mode === 'Complete') return production ? 'critical' : 'high';
      return production ? 'high' : 'medium';
    case 'resourceAction':
    case 'scaleResource':
      return production ? 'high' : 'medium';
    case 'setTags':
      return op.operation === 'Merge' ? 'low' : 'medium';
    case 'createResourceGroup':
      return 'low';
  }
}
