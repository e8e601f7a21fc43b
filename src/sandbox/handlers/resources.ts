/**
 * Generic resources: lists (in a group, in the subscription), and by id GET/HEAD/PUT/PATCH/DELETE and
 * POST {id}/{action}. Every change gives the resource a new etag; If-Match is honoured. Deletes and
 * actions of asynchronous providers (Microsoft.Compute) answer 202 and complete later, and so do updates
 * of scale sets.
 */
import type { Route, SandboxContext } from '../context';
import { armErrors, json, objectBody, stringRecord, type SandboxRequest, type SandboxResponse } from '../http';
import { fullName, fullType, parseResourceId, type ParsedResourceId } from '../resource-ids';
import { behaviorOf } from '../resource-types';
import type { StoredResource } from '../state';
import { acceptedByProvider, startOperation } from './async-operations';
import { page, parseFilter } from './listing';

/** What a resource's own body and its item in a list both start with, as ARM answers them. */
function resourceHead(r: StoredResource): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    location: r.location,
    ...(r.kind !== undefined ? { kind: r.kind } : {}),
    ...(r.sku !== undefined ? { sku: r.sku } : {}),
  };
}

function resourceBody(r: StoredResource): Record<string, unknown> {
  return {
    ...resourceHead(r),
    tags: r.tags,
    properties: r.properties,
    etag: r.etag,
  };
}

function listItem(r: StoredResource, withTags: boolean, expand: string): Record<string, unknown> {
  const wanted = expand.toLowerCase().split(',').map((s) => s.trim());
  return {
    ...resourceHead(r),
    ...(withTags ? { tags: r.tags } : {}),
    ...(wanted.includes('createdtime') ? { createdTime: r.createdTime } : {}),
    ...(wanted.includes('changedtime') ? { changedTime: r.changedTime } : {}),
    ...(wanted.includes('provisioningstate') ? { provisioningState: r.properties.provisioningState } : {}),
  };
}

function list(req: SandboxRequest, ctx: SandboxContext, resourceGroup?: string): SandboxResponse {
  if (resourceGroup !== undefined) ctx.state.requireGroup(resourceGroup);
  const filter = parseFilter(req.query.get('$filter'));
  const items = ctx.state
    .resources(resourceGroup)
    .filter((r) => filter.test({ type: r.type, name: r.name, location: r.location, resourceGroup: r.resourceGroup, tags: r.tags }))
    .map((r) => listItem(r, !filter.byTag, req.query.get('$expand') ?? ''));
  return json(200, page(req, ctx, items));
}

/** The path after /providers/{ns}/ names a resource (even number of segments) or an action on one (odd). */
function target(req: SandboxRequest): { id: ParsedResourceId; resourceId: string; action?: string } {
  const segments = req.path.split('/');
  const afterProviders = segments.length - segments.findIndex((s) => s.toLowerCase() === 'providers') - 2;
  const action = afterProviders % 2 === 1 ? segments[segments.length - 1] : undefined;
  const resourceId = action ? segments.slice(0, -1).join('/') : req.path;
  const id = parseResourceId(resourceId);
  if (!id) throw armErrors.unknownRoute(req.method, req.path);
  return { id, resourceId, ...(action ? { action } : {}) };
}

function checkIfMatch(req: SandboxRequest, resource: StoredResource | undefined): void {
  const ifMatch = req.headers['if-match'];
  if (typeof ifMatch !== 'string' || ifMatch === '*') return;
  if (!resource) throw armErrors.preconditionFailed('(none: the resource does not exist)');
  if (ifMatch !== resource.etag) throw armErrors.preconditionFailed(resource.etag);
}

function put(req: SandboxRequest, ctx: SandboxContext, id: ParsedResourceId): SandboxResponse {
  const body = objectBody(req);
  const group = ctx.state.requireGroup(id.resourceGroup);
  checkIfMatch(req, ctx.state.liveResource(req.path));
  const { resource, created } = ctx.state.putResource(group.name, {
    type: fullType(id),
    name: fullName(id),
    location: typeof body.location === 'string' ? body.location : group.location,
    ...(typeof body.kind === 'string' ? { kind: body.kind } : {}),
    ...(body.sku && typeof body.sku === 'object' ? { sku: body.sku as Record<string, unknown> } : {}),
    tags: stringRecord(body.tags, 'tags'),
    properties: body.properties && typeof body.properties === 'object' ? (body.properties as Record<string, unknown>) : {},
  });
  return json(created ? 201 : 200, resourceBody(resource), { ETag: resource.etag });
}

/** A merge-patch; scale sets apply it later (202, Updating meanwhile), as Microsoft.Compute does. */
function patch(req: SandboxRequest, ctx: SandboxContext, id: ParsedResourceId): SandboxResponse {
  const resource = ctx.state.requireResource(req.path);
  checkIfMatch(req, resource);
  const body = objectBody(req);
  if (!behaviorOf(resource.type).asynchronousUpdate) {
    const r = ctx.state.patchResource(req.path, body);
    return json(200, resourceBody(r), { ETag: r.etag });
  }
  resource.properties.provisioningState = 'Updating';
  const op = startOperation(ctx, ctx.timing.operationMs, () => {
    const live = ctx.state.patchResource(resource.id, body);
    live.properties.provisioningState = 'Succeeded';
  });
  return acceptedByProvider(req, ctx, op, id.namespace, resource.location);
}

function remove(req: SandboxRequest, ctx: SandboxContext, id: ParsedResourceId): SandboxResponse {
  const resource = ctx.state.liveResource(req.path);
  if (!resource) return { status: 204 };
  checkIfMatch(req, resource);
  if (!behaviorOf(resource.type).asynchronous) {
    ctx.state.deleteResource(resource.id);
    return { status: 200 };
  }
  const op = startOperation(ctx, ctx.timing.operationMs, () => ctx.state.deleteResource(resource.id));
  return acceptedByProvider(req, ctx, op, id.namespace, resource.location);
}

function act(req: SandboxRequest, ctx: SandboxContext, resourceId: string, action: string): SandboxResponse {
  const resource = ctx.state.requireResource(resourceId);
  const behavior = behaviorOf(resource.type);
  const effect = behavior.actions[action.toLowerCase()];
  if (!effect) throw armErrors.unsupportedAction(resource.type, action, req.query.get('api-version') ?? '');
  const apply = () => {
    const live = ctx.state.requireResource(resource.id);
    effect(live);
    ctx.state.touch(live);
  };
  if (!behavior.asynchronous) {
    apply();
    return { status: 200 };
  }
  const op = startOperation(ctx, ctx.timing.operationMs, apply);
  return acceptedByProvider(req, ctx, op, resource.type.split('/')[0], resource.location);
}

export const resourceRoutes: Route[] = [
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)\/resources$/i,
    authorize: (req) => ({ action: 'Microsoft.Resources/subscriptions/resources/read', scope: req.path.replace(/\/resources$/i, '') }),
    handle: (req, _m, ctx) => list(req, ctx),
  },
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/resources$/i,
    authorize: (req) => ({
      action: 'Microsoft.Resources/subscriptions/resourceGroups/resources/read',
      scope: req.path.replace(/\/resources$/i, ''),
    }),
    handle: (req, m, ctx) => list(req, ctx, m[2]),
  },
  {
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'POST'],
    pattern: /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/([^/]+)\/(.+)$/i,
    authorize: (req) => {
      const t = target(req);
      const type = fullType(t.id);
      if (t.action) return { action: `${type}/${t.action}/action`, scope: t.resourceId };
      const verb = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' }[req.method] ?? 'action';
      return { action: `${type}/${verb}`, scope: req.path };
    },
    handle: (req, _m, ctx) => {
      const t = target(req);
      if (t.action) {
        if (req.method !== 'POST') throw armErrors.unknownRoute(req.method, req.path);
        return act(req, ctx, t.resourceId, t.action);
      }
      switch (req.method) {
        case 'GET': {
          const r = ctx.state.requireResource(req.path);
          return json(200, resourceBody(r), { ETag: r.etag });
        }
        case 'HEAD':
          return { status: ctx.state.liveResource(req.path) ? 204 : 404 };
        case 'PUT':
          return put(req, ctx, t.id);
        case 'PATCH':
          return patch(req, ctx, t.id);
        case 'DELETE':
          return remove(req, ctx, t.id);
        default:
          throw armErrors.unknownRoute(req.method, req.path);
      }
    },
  },
];
