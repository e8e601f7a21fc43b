/**
 * How risky a request is, in four bands an approver reads before anything else. A command may say
 * (`risk` in the config); otherwise it follows from what the operation does and where: destroying is
 * riskier than changing, production riskier than anything else, reading carries no risk.
 */
import { targetOf, type ChangeOperation } from './operation';

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export const RISK_LEVELS: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

const PRODUCTION = /^(prod|production|prd|live)$/i;
const PRODUCTION_IN_NAME = /(^|[-_.])(prod|production|prd)([-_.]|$)/i;

/** True when a parameter value or the target's resource group names production. */
export function isProduction(parameters: Record<string, string>, resourceGroup?: string): boolean {
  if (Object.values(parameters).some((v) => PRODUCTION.test(v))) return true;
  return !!resourceGroup && PRODUCTION_IN_NAME.test(resourceGroup);
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
