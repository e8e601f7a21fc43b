/**
 * Right before execution: is what would happen still what was approved? Deployments re-run their
 * what-if; every other operation re-reads its target and compares it with the snapshot taken when
 * approval was asked for. A request recorded without either (made before drift detection existed) has
 * nothing to compare, and keeps its approval.
 */
import { compareSnapshots, compareWhatIf } from '../domain/drift';
import type { DriftFound } from '../domain/lifecycle';
import type { ApprovalRequest } from '../domain/request';
import type { AzureGateway } from './ports';

/** `transient`: Azure could not be read for a passing reason (throttled, failing, unreachable): trying again may work. */
export type DriftCheck = { drifted: false } | { drifted: true; found: DriftFound } | { drifted: 'unknown'; reason: string; transient: boolean };

export async function checkDrift(azure: AzureGateway, r: ApprovalRequest): Promise<DriftCheck> {
  const op = r.operation;
  try {
    if (op.kind === 'deployTemplate') {
      if (!r.whatIf) return { drifted: false };
      const whatIf = await azure.whatIf(op);
      if (whatIf.error) return { drifted: 'unknown', reason: `the what-if could not be run again: ${whatIf.error}`, transient: whatIf.transient === true };
      const changes = compareWhatIf(r.whatIf, whatIf);
      return changes.length ? { drifted: true, found: { changes, whatIf } } : { drifted: false };
    }
    if (!r.baseline) return { drifted: false };
    const baseline = await azure.snapshot(op);
    const changes = compareSnapshots(r.baseline, baseline);
    return changes.length ? { drifted: true, found: { changes, baseline } } : { drifted: false };
  } catch (err) {
    // The gateway marks a read that failed for a passing reason (AzureGateway.snapshot).
    const transient = (err as { transient?: unknown } | null)?.transient === true;
    return { drifted: 'unknown', reason: `the target could not be read again: ${err instanceof Error ? err.message : String(err)}`, transient };
  }
}
