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

/**
 * True when a name (an environment's in the config) would be read as production by the words here,
 * whole (`prod`, `live`) or as one of its words (`prod-eu`).
 */
export function readsAsProduction(name: string): boolean {
  return PRODUCTION.test(name) || PRODUCTION_IN_NAME.test(name);
}

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
 * Each subscription's environment as the config names it (`azure.environments`), by the
 * subscription's id in lower case (ARM writes ids in either case). A bank tells production by
 * subscription, with the same group names in both (`rg-app`): names alone say nothing there.
 */
export type SubscriptionEnvironments = ReadonlyMap<string, string>;

/** The environment configured for the subscription the operation acts in (its resource id's, else the configured one). */
function subscriptionEnvironment(op: ChangeOperation, environments: SubscriptionEnvironments | undefined): string | undefined {
  return environments?.get(targetOf(op).subscriptionId.toLowerCase());
}

/**
 * Where a request runs, in one lower-case word: `production` when its subscription is configured as
 * production or by the rule of `isProduction` (either is enough: the safer word wins when the two
 * disagree, `rg-prod-app` in a subscription listed as staging is production); else the environment
 * its subscription is configured as (what the operator wrote beats what a name suggests); else the
 * environment its resource group's name says (`staging-old`: staging); undefined when nothing says
 * one. Any other environment is never taken from a
 * parameter's value: a value is what the requester typed, and need not be where the request runs (a
 * tag's value of `dev` written on a production group whose name says nothing, `set group tags corebank
 * staging ...`, a storage account named `test`), so the card said "in dev" or "in staging" of a group
 * nothing said was either.
 */
export function environmentOf(parameters: Record<string, string>, resourceGroup?: string, bySubscription?: string): string | undefined {
  if (bySubscription === 'production' || isProduction(parameters, resourceGroup)) return 'production';
  return bySubscription ?? resourceGroup?.split(/[-_.]/).find((part) => OTHER_ENVIRONMENT.test(part))?.toLowerCase();
}

/** Where an operation runs (environmentOf), from its target: the group and subscription a resource id or tag scope names count as much as named ones. */
export function operationEnvironment(op: ChangeOperation, parameters: Record<string, string>, environments?: SubscriptionEnvironments): string | undefined {
  return environmentOf(parameters, targetOf(op).resourceGroup, subscriptionEnvironment(op, environments));
}

/** The risk of an operation when its command does not state one. */
export function defaultRisk(op: ChangeOperation, parameters: Record<string, string>, environments?: SubscriptionEnvironments): RiskLevel {
  // The group a resource id or tag scope names counts as much as a named group: `production-vm/.../vm-web-01` is production.
  const production = operationEnvironment(op, parameters, environments) === 'production';
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
