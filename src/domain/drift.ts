/**
 * Drift: what would happen now, compared with what was approved. Deployments compare their what-if;
 * every other operation compares the target as it was read when approval was asked for (its ETag and
 * the facts that decide what the operation does) with the target as it is right before execution.
 * Each difference becomes a line a person can read on the card and in the audit trail; no lines means
 * the approval still describes what will happen.
 */
import { canonicalJson, sha256Hex } from './canonical';
import type { WhatIfChange, WhatIfSummary } from './operation';

/** The target as Countersign read it, reduced to what decides the operation's effect. */
export interface TargetSnapshot {
  /** False when the target does not exist (yet, or any more). */
  exists: boolean;
  /** ARM's ETag of the resource, when it has one: any change to the resource changes it. */
  etag?: string;
  /** Readable facts, e.g. "location": "westeurope", "tags.owner": "platform-team", "sku.capacity": "2". */
  facts: Record<string, string>;
}

/** What was found changed right before execution. */
export interface DriftRecord {
  detectedAt: string;
  /** One line per difference, e.g. "~ Microsoft.Web/sites/api: was NoChange, now Modify (properties.httpsOnly)". */
  changes: string[];
  /** The operation hash the now-void approvals were bound to. */
  previousOperationHash: string;
}

/** What approvers see and approve: a deployment's what-if, or the target's snapshot. */
export type Expectation = { whatIf: WhatIfSummary } | { baseline: TargetSnapshot };

const SHOWN = 20;

/** Differences between the approved what-if and the current one. `Ignore` entries (left untouched) are not compared. */
export function compareWhatIf(approved: WhatIfSummary, current: WhatIfSummary): string[] {
  const before = whatIfIndex(approved);
  const after = whatIfIndex(current);
  const lines: string[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const was = before.get(key);
    const now = after.get(key);
    const a = was ? describeChange(was) : 'not in the what-if';
    const b = now ? describeChange(now) : 'not in the what-if';
    if (a !== b) lines.push(`${shortResource((now ?? was)!.resourceId)}: was ${a}, now ${b}`);
  }
  return cap(lines);
}

/** Differences between the target as approved and as it is now. */
export function compareSnapshots(approved: TargetSnapshot, current: TargetSnapshot): string[] {
  if (approved.exists && !current.exists) return ['the target no longer exists'];
  if (!approved.exists && current.exists) return ['the target exists now (it did not when approval was asked for)'];
  const lines: string[] = [];
  for (const key of [...new Set([...Object.keys(approved.facts), ...Object.keys(current.facts)])].sort()) {
    const was = approved.facts[key];
    const now = current.facts[key];
    if (was !== now) lines.push(`${key}: ${quoted(was)} → ${quoted(now)}`);
  }
  if (approved.etag !== undefined && current.etag !== undefined && approved.etag !== current.etag && lines.length === 0) {
    lines.push(`ETag ${approved.etag} → ${current.etag}: the resource was modified`);
  }
  return cap(lines);
}

/**
 * The hash approvals bind to once drift voided the earlier ones: the operation's hash together with
 * the expectation approvers now see, so a card shown before the drift is stale.
 */
export function reapprovalHash(previousOperationHash: string, expectation: Expectation): string {
  return sha256Hex(canonicalJson({ previousOperationHash, expectation }));
}

function whatIfIndex(w: WhatIfSummary): Map<string, WhatIfChange> {
  return new Map(w.changes.filter((c) => c.changeType !== 'Ignore').map((c) => [c.resourceId.toLowerCase(), c]));
}

function describeChange(c: WhatIfChange): string {
  const paths = [...(c.changedPaths ?? [])].sort();
  return paths.length ? `${c.changeType} (${paths.join(', ')})` : c.changeType;
}

function shortResource(id: string): string {
  const m = /\/providers\/(.+)$/i.exec(id);
  return m ? m[1] : id;
}

function quoted(value: string | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

function cap(lines: string[]): string[] {
  return lines.length <= SHOWN ? lines : [...lines.slice(0, SHOWN), `... and ${lines.length - SHOWN} more difference(s)`];
}
