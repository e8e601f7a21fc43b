/**
 * What an approver reads first on a request card: one sentence saying who asks to do what where, the
 * risk band, and what will change in plain words (the what-if counted, or what a delete destroys).
 */
import type { TargetSnapshot } from '../domain/drift';
import { plural } from '../domain/duration-text';
import { resourceIdWords, type ChangeOperation, type WhatIfChange, type WhatIfChangeType, type WhatIfSummary } from '../domain/operation';
import type { ApprovalRequest } from '../domain/request';
import { runsOnBreakGlass } from '../domain/lifecycle';
import { defaultRisk, environmentOf, environmentParameter, type RiskLevel } from '../domain/risk';
import { md, shortened } from './markdown';
import { valueAsWord } from '../domain/command-words';

/** Resources listed by name under "what will change"; the rest are counted. */
const LISTED = 10;
/** Longest a listed resource's line may be (its changed paths can be many and long): the card has a size limit. */
const LINE_MAX = 300;

/**
 * The longest reason the first sentence quotes. A reason may hold 500 characters: at a phone's
 * width, quoted whole, it fills the screen and pushes the risk band below it. The rest of a
 * longer one is under Details, whole.
 */
const SUMMARY_REASON = 200;

/**
 * The longest run of typed values a deployment's sentence quotes as what it deploys. A command may
 * take many parameters of up to 200 characters each: quoted whole, they fill a phone's screen, and
 * push where it goes ("to PRODUCTION") and the risk band below it. Every value is under Details, whole.
 */
const SUMMARY_VALUES = 120;

/** Whether the first sentence quotes only the start of the reason (the whole of it is then under Details). */
export function reasonClipped(r: Pick<ApprovalRequest, 'reason'>): boolean {
  return (r.reason?.replace(/\s+/g, ' ').length ?? 0) > SUMMARY_REASON;
}

/**
 * "Alice Requester asks to **deploy api-service to PRODUCTION**: release 2.4" (markdown, user text
 * escaped); a break-glass use that runs on the use alone says so: nobody is asked.
 */
export function summarySentence(r: ApprovalRequest): string {
  const said = r.reason?.replace(/\s+/g, ' ');
  const reason = said ? `: ${md(shortened(said, SUMMARY_REASON))}${reasonClipped(r) ? ' (the whole reason is under Details)' : ''}` : '';
  if (runsOnBreakGlass(r)) return `${md(r.requester.name)} used **break-glass** to **${md(actionPhrase(r))}** without approval${reason}`;
  return `${md(r.requester.name)} asks to **${md(actionPhrase(r))}**${reason}`;
}

function actionPhrase(r: ApprovalRequest): string {
  const op = r.operation;
  const where = placeWords(r);
  // A resource's own name says nothing of where it is ("test" in corebanking-data): with no environment known, its group.
  const group = r.target.resourceGroup;
  const inPlace = where ? ` in ${where}` : group ? ` in resource group ${group}` : '';
  switch (op.kind) {
    case 'deployTemplate': {
      const env = environmentParameter(r.parameters);
      const values = Object.values(r.parameters).filter((v) => v !== env).map(valueAsWord).join(' ');
      const what = values.length > SUMMARY_VALUES ? `${shortened(values, SUMMARY_VALUES)} (every value is under Details)` : values || op.deploymentName;
      return `deploy ${what} to ${where ?? `resource group ${op.resourceGroup}`}${op.mode === 'Complete' ? ' (complete mode)' : ''}`;
    }
    case 'deleteResourceGroup':
      return `delete resource group ${op.resourceGroup} and everything in it`;
    case 'createResourceGroup':
      return `create resource group ${op.resourceGroup} in ${op.location}`;
    case 'deleteResource':
      return `delete ${resourceIdWords(op.resourceId)}${inPlace}`;
    case 'resourceAction':
      return `${op.action} ${resourceIdWords(op.resourceId)}${inPlace}`;
    case 'scaleResource':
      return `scale ${resourceIdWords(op.resourceId)} to ${op.capacity}${inPlace}`;
    case 'setTags': {
      const tags = Object.entries(op.tags);
      const scope = /\/providers\//i.test(op.scope) ? `${scopeWords(op.scope)}${inPlace}` : scopeWords(op.scope);
      if (op.operation === 'Delete') return `remove the ${tags.length === 1 ? 'tag' : 'tags'} ${tags.map(([k]) => valueAsWord(k)).join(', ')} from ${scope}`;
      const list = tags.map(([k, v]) => `${valueAsWord(k)}=${valueAsWord(v)}`).join(', ');
      return op.operation === 'Replace' ? `replace the tags of ${scope} with ${list}` : `set ${list} on ${scope}`;
    }
  }
}

/** "PRODUCTION" (shouted: it is the place to be careful), "staging", or nothing known. */
function placeWords(r: ApprovalRequest): string | undefined {
  // As decided when the request was made (its subscription's environment included); one made before that was recorded, by its names.
  const env = r.environment ?? environmentOf(r.parameters, r.target.resourceGroup);
  return env === 'production' ? 'PRODUCTION' : env;
}

function scopeWords(scope: string): string {
  if (/\/providers\//i.test(scope)) return resourceIdWords(scope);
  const rg = /\/resourcegroups\/([^/]+)$/i.exec(scope);
  return rg ? `resource group ${rg[1]}` : 'the subscription';
}

// ---- risk --------------------------------------------------------------------------------------

const RISK_LOOK: Record<RiskLevel, { words: string; style: string; color: string }> = {
  low: { words: 'LOW RISK', style: 'good', color: 'Good' },
  medium: { words: 'MEDIUM RISK', style: 'warning', color: 'Default' },
  high: { words: 'HIGH RISK', style: 'attention', color: 'Attention' },
  critical: { words: 'CRITICAL RISK', style: 'attention', color: 'Attention' },
};

function riskOf(r: ApprovalRequest): RiskLevel {
  return r.risk ?? defaultRisk(r.operation, r.parameters);
}

/** The band under the sentence: its words say the level and what kind of change it is, its colour the level. */
export function riskView(r: ApprovalRequest) {
  const level = riskOf(r);
  const look = RISK_LOOK[level];
  const place = placeWords(r);
  return {
    risk: level,
    riskStyle: look.style,
    riskColor: look.color,
    riskText: `${level === 'critical' ? '⚠ ' : ''}${look.words}: ${md(kindWords(r.operation, place ? ` in ${place}` : ''))}`,
  };
}

/** What kind of change it is, and where (" in PRODUCTION") before any warning, not after it. */
function kindWords(op: ChangeOperation, where: string): string {
  switch (op.kind) {
    case 'deployTemplate':
      return op.mode === 'Complete' ? `a deployment${where} that also deletes what the template leaves out` : `a deployment${where}`;
    case 'deleteResourceGroup':
      return `DELETES a resource group and everything in it${where && `,${where}`}; this cannot be undone`;
    case 'deleteResource':
      return `DELETES a resource${where}; this cannot be undone`;
    case 'createResourceGroup':
      return `creates a new, empty resource group${where}`;
    case 'resourceAction':
      return `${op.action} of a resource${where}`;
    case 'scaleResource':
      return `changes capacity${where}`;
    case 'setTags':
      return `changes tags only${where}`;
  }
}

// ---- what will change --------------------------------------------------------------------------

const CHANGE_WORDS: Record<WhatIfChangeType, { count: string; verb: string; order: number }> = {
  Delete: { count: 'to delete', verb: 'Delete', order: 0 },
  Create: { count: 'to create', verb: 'Create', order: 1 },
  Modify: { count: 'to modify', verb: 'Modify', order: 2 },
  Deploy: { count: 'to redeploy', verb: 'Redeploy', order: 3 },
  Unsupported: { count: 'that Azure cannot predict', verb: 'Cannot predict', order: 4 },
  NoChange: { count: 'unchanged', verb: 'Unchanged', order: 5 },
  Ignore: { count: 'left alone', verb: 'Left alone', order: 6 },
};

export interface ChangeView {
  hasChanges: boolean;
  changesHeading: string;
  changesSummary: string;
  changeLines: { line: string }[];
}

export function changeView(r: ApprovalRequest): ChangeView {
  if (r.whatIf) return whatIfView(r.whatIf);
  if (r.operation.kind === 'deleteResourceGroup' && r.baseline) return destroyedGroupView(r.operation.resourceGroup, r.baseline);
  if (r.operation.kind === 'deleteResource') {
    return { hasChanges: true, changesHeading: 'What will be destroyed', changesSummary: md(resourceIdWords(r.operation.resourceId)), changeLines: [] };
  }
  // What the target holds now, read when approval was asked for: the approver sees from what to what.
  if (r.baseline?.exists && r.operation.kind === 'scaleResource') return capacityView(r.operation.capacity, r.baseline);
  if (r.baseline?.exists && r.operation.kind === 'setTags') return tagsView(r.operation, r.baseline);
  const power = r.operation.kind === 'resourceAction' ? r.baseline?.facts.powerState : undefined;
  // A start of a VM that runs, or a power-off of one already stopped: the approver sees it at once.
  if (power) return { hasChanges: true, changesHeading: 'As it is now', changesSummary: md(`Power state: ${power.replace(/^PowerState\//, '')}.`), changeLines: [] };
  return NO_CHANGES;
}

const NO_CHANGES: ChangeView = { hasChanges: false, changesHeading: '', changesSummary: '', changeLines: [] };

/** "Capacity 2 → 5 (more instances)": a scale-down is as plain as a scale-up. */
function capacityView(capacity: number, baseline: TargetSnapshot): ChangeView {
  const now = baseline.facts['sku.capacity'];
  if (now === undefined) return NO_CHANGES;
  const from = Number(now);
  const direction = from === capacity ? 'no change' : capacity > from ? 'more instances' : 'FEWER instances';
  return { hasChanges: true, changesHeading: 'What will change', changesSummary: md(`Capacity ${now} → ${capacity} (${direction}).`), changeLines: [] };
}

/** Each tag the operation touches, as it is now and as it will be; for a replace, the tags it drops too. */
function tagsView(op: Extract<ChangeOperation, { kind: 'setTags' }>, baseline: TargetSnapshot): ChangeView {
  const now = new Map(Object.entries(baseline.facts).filter(([k]) => k.startsWith('tags.')).map(([k, v]) => [k.slice('tags.'.length), v]));
  const lines: string[] = [];
  for (const [key, value] of Object.entries(op.tags)) {
    const before = now.get(key);
    if (op.operation === 'Delete') lines.push(before === undefined ? `${valueAsWord(key)}: not set now; nothing to remove` : `${valueAsWord(key)}: ${valueAsWord(before)} → removed`);
    else if (before === undefined) lines.push(`${valueAsWord(key)}: not set → ${valueAsWord(value)}`);
    else lines.push(before === value ? `${valueAsWord(key)}: ${valueAsWord(before)}, unchanged` : `${valueAsWord(key)}: ${valueAsWord(before)} → ${valueAsWord(value)}`);
  }
  if (op.operation === 'Replace') for (const [key, before] of now) if (!Object.hasOwn(op.tags, key)) lines.push(`${valueAsWord(key)}: ${valueAsWord(before)} → removed`);
  const shown = lines.slice(0, LISTED).map((line) => ({ line: md(shortened(line, LINE_MAX)) }));
  if (lines.length > LISTED) shown.push({ line: `and ${lines.length - LISTED} more` });
  return { hasChanges: true, changesHeading: 'What will change', changesSummary: now.size === 0 ? 'It has no tags now.' : 'Each tag as it is now, and as it will be:', changeLines: shown };
}

/** "2 to create, 1 to modify, 1 unchanged", then the changes themselves, deletions first. */
function whatIfView(w: WhatIfSummary): ChangeView {
  const counts = new Map<WhatIfChangeType, number>();
  for (const c of w.changes) counts.set(c.changeType, (counts.get(c.changeType) ?? 0) + 1);
  const ordered = [...counts].sort(([a], [b]) => CHANGE_WORDS[a].order - CHANGE_WORDS[b].order);
  const summary = w.changes.length === 0 ? 'Nothing will change.' : `${plural(w.changes.length, 'resource')}: ${ordered.map(([t, n]) => `${n} ${CHANGE_WORDS[t].count}`).join(', ')}.`;
  const shown = w.changes
    .filter((c) => c.changeType !== 'NoChange' && c.changeType !== 'Ignore')
    .sort((a, b) => CHANGE_WORDS[a.changeType].order - CHANGE_WORDS[b.changeType].order);
  const lines = shown.slice(0, LISTED).map((c) => ({ line: md(shortened(changeLine(c), LINE_MAX)) }));
  if (shown.length > LISTED) lines.push({ line: `and ${shown.length - LISTED} more` });
  return { hasChanges: true, changesHeading: 'What will change', changesSummary: md(summary), changeLines: lines };
}

function changeLine(c: WhatIfChange): string {
  const paths = c.changedPaths?.length ? `: ${c.changedPaths.slice(0, 4).join(', ')}${c.changedPaths.length > 4 ? ', ...' : ''}` : '';
  return `${CHANGE_WORDS[c.changeType].verb} ${resourceIdWords(c.resourceId)}${paths}`;
}

/** A group delete: the resources recorded in the snapshot when approval was asked for. */
function destroyedGroupView(group: string, baseline: TargetSnapshot): ChangeView {
  const heading = 'What will be destroyed';
  if (!baseline.exists) return { hasChanges: true, changesHeading: heading, changesSummary: md(`Resource group ${group} does not exist now; nothing to delete.`), changeLines: [] };
  const names = Object.keys(baseline.facts).filter((k) => k.startsWith('resource ')).map((k) => k.slice('resource '.length));
  const counted = baseline.facts['resources.count'];
  if (counted === undefined) return { hasChanges: true, changesHeading: heading, changesSummary: md(`Resource group ${group} and everything in it.`), changeLines: [] };
  const total = Number(counted);
  const summary = total === 0 ? `Resource group ${group}, which is empty.` : `Resource group ${group} and the ${plural(total, 'resource')} in it:`;
  const lines = names.slice(0, LISTED).map((n) => ({ line: md(shortened(typedName(n), LINE_MAX)) }));
  if (total > lines.length && total > 0) lines.push({ line: `and ${total - lines.length} more` });
  return { hasChanges: true, changesHeading: heading, changesSummary: md(summary), changeLines: lines };
}

/** "Microsoft.Web/sites/api" as "api (Microsoft.Web/sites)". */
function typedName(short: string): string {
  const m = /^([^/]+\/[^/]+)\/(.+)$/.exec(short);
  return m ? `${m[2]} (${m[1]})` : short;
}
