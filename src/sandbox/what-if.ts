/**
 * What-if: compares the resources a template would PUT with what the group holds now.
 * Create for new resources, Modify/NoChange by property diff (provider-computed properties ignored),
 * and for resources the template does not mention, Delete in Complete mode or Ignore in Incremental.
 */
import { isRecord } from './http';
import { idKey } from './resource-ids';
import { writableProperties } from './resource-types';
import type { SandboxState, StoredResource } from './state';
import type { PlannedResource } from './template/plan';

export type PropertyChangeType = 'Create' | 'Delete' | 'Modify' | 'Array' | 'NoEffect';

export interface WhatIfPropertyChange {
  path: string;
  propertyChangeType: PropertyChangeType;
  before?: unknown;
  after?: unknown;
  children?: WhatIfPropertyChange[];
}

export interface WhatIfResourceChange {
  resourceId: string;
  changeType: 'Create' | 'Delete' | 'Ignore' | 'NoChange' | 'Modify';
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  delta?: WhatIfPropertyChange[];
}

const COMPARED = ['location', 'kind', 'sku', 'tags', 'properties'] as const;

export function computeWhatIf(
  state: SandboxState,
  resourceGroup: string,
  planned: PlannedResource[],
  mode: 'Incremental' | 'Complete',
): WhatIfResourceChange[] {
  const changes: WhatIfResourceChange[] = [];
  const mentioned = new Set<string>();
  for (const p of planned) {
    mentioned.add(idKey(p.id));
    const current = state.liveResource(p.id);
    const after = viewOfPlanned(p, current);
    if (!current) {
      changes.push({ resourceId: after.id as string, changeType: 'Create', after });
      continue;
    }
    const before = viewOfStored(current, p.apiVersion);
    const delta = diffResource(before, after);
    changes.push({ resourceId: current.id, changeType: delta.length ? 'Modify' : 'NoChange', before, after, delta });
  }
  for (const r of state.liveResources(resourceGroup)) {
    if (mentioned.has(idKey(r.id))) continue;
    changes.push({ resourceId: r.id, changeType: mode === 'Complete' ? 'Delete' : 'Ignore', before: viewOfStored(r) });
  }
  return changes;
}

function viewOfStored(r: StoredResource, apiVersion?: string): Record<string, unknown> {
  return clean({
    apiVersion,
    id: r.id,
    name: r.name,
    type: r.type,
    location: r.location,
    kind: r.kind,
    sku: r.sku,
    tags: r.tags,
    properties: writableProperties(r.type, r.properties),
  });
}

function viewOfPlanned(p: PlannedResource, current: StoredResource | undefined): Record<string, unknown> {
  return clean({
    apiVersion: p.apiVersion,
    id: current?.id ?? p.id,
    name: current?.name ?? p.name,
    type: current?.type ?? p.type,
    location: p.location,
    kind: p.kind,
    sku: p.sku,
    tags: p.tags ?? {},
    properties: p.properties ?? {},
  });
}

function clean(view: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined));
}

function diffResource(before: Record<string, unknown>, after: Record<string, unknown>): WhatIfPropertyChange[] {
  const out: WhatIfPropertyChange[] = [];
  for (const key of COMPARED) {
    if (key === 'location' && sameLocation(before.location, after.location)) continue;
    diffValue(key, before[key], after[key], out);
  }
  return out;
}

/** ARM treats "West Europe" and "westeurope" as the same location. */
function sameLocation(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => String(v ?? '').replace(/\s+/g, '').toLowerCase();
  return norm(a) === norm(b);
}

function diffValue(path: string, before: unknown, after: unknown, out: WhatIfPropertyChange[]): void {
  if (equal(before, after)) return;
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of keys) diffValue(`${path}.${k}`, before[k], after[k], out);
    return;
  }
  if (before === undefined) {
    out.push(...leaves(path, after).map(([p, v]) => ({ path: p, propertyChangeType: 'Create' as const, after: v })));
    return;
  }
  if (after === undefined) {
    out.push(...leaves(path, before).map(([p, v]) => ({ path: p, propertyChangeType: 'Delete' as const, before: v })));
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    out.push({ path, propertyChangeType: 'Array', before, after, children: arrayChildren(before, after) });
    return;
  }
  out.push({ path, propertyChangeType: 'Modify', before, after });
}

function arrayChildren(before: unknown[], after: unknown[]): WhatIfPropertyChange[] {
  const children: WhatIfPropertyChange[] = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    if (equal(before[i], after[i])) continue;
    if (i >= before.length) children.push({ path: String(i), propertyChangeType: 'Create', after: after[i] });
    else if (i >= after.length) children.push({ path: String(i), propertyChangeType: 'Delete', before: before[i] });
    else children.push({ path: String(i), propertyChangeType: 'Modify', before: before[i], after: after[i] });
  }
  return children;
}

/** An added or removed object is reported property by property, as ARM does. */
function leaves(path: string, value: unknown): [string, unknown][] {
  if (!isRecord(value) || Object.keys(value).length === 0) return [[path, value]];
  return Object.entries(value).flatMap(([k, v]) => leaves(`${path}.${k}`, v));
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}
