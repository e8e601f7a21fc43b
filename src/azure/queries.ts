/**
 * Read-only questions, answered as small tables (at most MAX_ROWS rows, `truncated` when there were more).
 * Lists stop reading pages once they have enough. A refusal from ARM rejects with an ArmRequestError
 * whose message is in words.
 */
import type { QueryOperation, QueryResult } from '../domain/operation';
import { ArmRequestError, toArmError } from './errors';
import { withoutCredentials } from '../domain/credential-text';
import type { GatewayContext } from './operations/context';
import { resourceTypeOf, sdkPath, shortResourceName } from './resource-ids';
import { CallTrace, type SdkCallOptions } from './trace';
import { runWhatIf } from './what-if';

export const MAX_ROWS = 50;

type QueryOf<K extends QueryOperation['kind']> = Extract<QueryOperation, { kind: K }>;

export async function runQuery(op: QueryOperation, ctx: GatewayContext): Promise<QueryResult> {
  // The trace keeps ARM's answer: the SDK's paging errors drop the message ARM gave.
  const trace = new CallTrace(undefined, ctx.pollIntervalMs);
  const call = trace.options();
  try {
    switch (op.kind) {
      case 'listResourceGroups':
        return await listResourceGroups(op, ctx, call);
      case 'listResources':
        return await listResources(op, ctx, call);
      case 'showResource':
        return await showResource(op, ctx, call);
      case 'listDeployments':
        return await listDeployments(op, ctx, call);
      case 'deploymentOperations':
        return await deploymentOperations(op, ctx, call);
      case 'whatIfDeployment':
        return await whatIfTable(op, ctx);
    }
  } catch (e) {
    if (e instanceof ArmRequestError) throw e;
    throw new ArmRequestError(toArmError(e, trace.response));
  }
}

async function listResourceGroups(op: QueryOf<'listResourceGroups'>, ctx: GatewayContext, call: SdkCallOptions): Promise<QueryResult> {
  const { items, truncated } = await take(ctx.clients.resources.resourceGroups.list(call));
  return table(`Resource groups in subscription ${op.subscriptionId}`, ['Name', 'Location', 'State', 'Tags'], truncated,
    items
      .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))
      .map((g) => [g.name ?? '', g.location ?? '', g.properties?.provisioningState ?? '', tagText(g.tags)]),
  );
}

async function listResources(op: QueryOf<'listResources'>, ctx: GatewayContext, call: SdkCallOptions): Promise<QueryResult> {
  const api = ctx.clients.resources.resources;
  // ARM refuses a tag filter combined with any other: filter tags in ARM and the type here.
  const filter = op.tag
    ? `tagName eq ${odata(op.tag.name)}${op.tag.value !== undefined ? ` and tagValue eq ${odata(op.tag.value)}` : ''}`
    : op.resourceType
      ? `resourceType eq ${odata(op.resourceType)}`
      : undefined;
  const options = { ...call, ...(filter ? { filter } : {}) };
  const source = op.resourceGroup ? api.listByResourceGroup(op.resourceGroup, options) : api.list(options);
  const wantedType = op.tag && op.resourceType ? op.resourceType.toLowerCase() : undefined;
  const { items, truncated } = await take(source, (r) => !wantedType || (r.type ?? '').toLowerCase() === wantedType);
  const title = [
    `Resources in ${op.resourceGroup ? `resource group ${op.resourceGroup}` : `subscription ${op.subscriptionId}`}`,
    op.resourceType ? ` of type ${op.resourceType}` : '',
    op.tag ? ` tagged ${op.tag.name}${op.tag.value !== undefined ? `=${op.tag.value}` : ''}` : '',
  ].join('');
  const columns = ['Name', 'Type', 'Location', ...(op.resourceGroup ? [] : ['Resource group']), ...(op.tag ? [] : ['Tags'])];
  return table(title, columns, truncated,
    items.map((r) => [
      r.name ?? '',
      r.type ?? '',
      r.location ?? '',
      ...(op.resourceGroup ? [] : [/\/resourceGroups\/([^/]+)/i.exec(r.id ?? '')?.[1] ?? '']),
      ...(op.tag ? [] : [tagText(r.tags)]),
    ]),
  );
}

async function showResource(op: QueryOf<'showResource'>, ctx: GatewayContext, call: SdkCallOptions): Promise<QueryResult> {
  const r = await ctx.clients.resources.resources.getById(sdkPath(op.resourceId), op.apiVersion, call);
  const props = (r.properties ?? {}) as Record<string, unknown>;
  const rows: string[][] = [
    ['Name', r.name ?? ''],
    ['Type', r.type ?? resourceTypeOf(op.resourceId).type],
    ['Location', r.location ?? ''],
    ...(r.kind ? [['Kind', r.kind]] : []),
    ...(r.sku ? [['SKU', [r.sku.name, r.sku.tier, r.sku.capacity !== undefined ? `capacity ${r.sku.capacity}` : undefined].filter(Boolean).join(', ')]] : []),
    ['Tags', tagText(r.tags)],
    ...Object.keys(props)
      .sort()
      .map((k) => [`properties.${k}`, valueText(props[k])]),
  ];
  return table(shortResourceName(op.resourceId), ['Property', 'Value'], rows.length > MAX_ROWS, rows.slice(0, MAX_ROWS));
}

async function listDeployments(op: QueryOf<'listDeployments'>, ctx: GatewayContext, call: SdkCallOptions): Promise<QueryResult> {
  const { items, truncated } = await take(ctx.clients.deployments.deployments.listByResourceGroup(op.resourceGroup, call));
  const time = (d: (typeof items)[number]) => d.properties?.timestamp?.getTime() ?? 0;
  return table(`Deployments in resource group ${op.resourceGroup}`, ['Name', 'State', 'Finished or started', 'Duration', 'Mode'], truncated,
    items
      .sort((a, b) => time(b) - time(a))
      .map((d) => [
        d.name ?? '',
        d.properties?.provisioningState ?? '',
        d.properties?.timestamp?.toISOString() ?? '',
        d.properties?.duration ?? '',
        d.properties?.mode ?? '',
      ]),
  );
}

async function deploymentOperations(op: QueryOf<'deploymentOperations'>, ctx: GatewayContext, call: SdkCallOptions): Promise<QueryResult> {
  const source = ctx.clients.deployments.deploymentOperations.list(op.resourceGroup, op.deploymentName, call);
  const { items, truncated } = await take(source, (o) => !!o.properties?.targetResource);
  return table(`Operations of deployment ${op.deploymentName} in ${op.resourceGroup}`, ['Resource', 'Type', 'Operation', 'State', 'Status', 'Message'], truncated,
    items.map((o) => {
      const p = o.properties;
      const err = p?.statusMessage?.error;
      return [
        p?.targetResource?.resourceName ?? '',
        p?.targetResource?.resourceType ?? '',
        p?.provisioningOperation ?? '',
        p?.provisioningState ?? '',
        p?.statusCode ?? '',
        // A nested deployment's failure can quote its template's address, SAS and all: the table goes on a card.
        err ? withoutCredentials(`${err.code ?? 'Error'}: ${err.message ?? ''}`) : '',
      ];
    }),
  );
}

async function whatIfTable(op: QueryOf<'whatIfDeployment'>, ctx: GatewayContext): Promise<QueryResult> {
  const summary = await runWhatIf({ ...op, deploymentName: 'countersign-whatif' }, ctx);
  if (summary.error) throw new ArmRequestError({ code: 'WhatIfFailed', message: summary.error });
  const rows = summary.changes.map((c) => [c.changeType, shortResourceName(c.resourceId), (c.changedPaths ?? []).join(', ')]);
  return table(`What-if of ${/^[aeiou]/i.test(op.mode) ? 'an' : 'a'} ${op.mode.toLowerCase()} deployment to ${op.resourceGroup}`, ['Change', 'Resource', 'Changed properties'],
    rows.length > MAX_ROWS, rows.slice(0, MAX_ROWS));
}

/** Reads until MAX_ROWS + 1 matching items (to know whether there were more), then stops paging. */
async function take<T>(source: AsyncIterable<T>, keep: (item: T) => boolean = () => true): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  for await (const item of source) {
    if (!keep(item)) continue;
    if (items.length === MAX_ROWS) return { items, truncated: true };
    items.push(item);
  }
  return { items, truncated: false };
}

function table(title: string, columns: string[], truncated: boolean, rows: string[][]): QueryResult {
  return { title, columns, rows, ...(truncated ? { truncated: true } : {}) };
}

function tagText(tags: Record<string, string> | undefined): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function valueText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** An OData string literal: quotes doubled. */
function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
