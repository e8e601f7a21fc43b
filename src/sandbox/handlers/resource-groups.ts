/**
 * The subscription and its resource groups: GET/HEAD/PUT/PATCH/DELETE on a group (DELETE is a
 * long-running operation polled through Location), and the group list.
 */
import type { Route } from '../context';
import { armErrors, json, objectBody, stringRecord } from '../http';
import type { StoredResourceGroup } from '../state';
import { acceptedWithLocation, startOperation } from './async-operations';
import { page, parseFilter } from './listing';

const GROUP_ACTION = 'Microsoft.Resources/subscriptions/resourceGroups';

function groupBody(g: StoredResourceGroup, withTags = true): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    ...(withTags ? { tags: g.tags } : {}),
    properties: { provisioningState: g.provisioningState },
  };
}

export const resourceGroupRoutes: Route[] = [
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)$/i,
    authorize: (req) => ({ action: 'Microsoft.Resources/subscriptions/read', scope: req.path }),
    handle: (_req, _m, ctx) =>
      json(200, {
        id: `/subscriptions/${ctx.state.subscriptionId}`,
        subscriptionId: ctx.state.subscriptionId,
        tenantId: ctx.state.tenantId,
        displayName: 'Countersign sandbox',
        state: 'Enabled',
        tags: ctx.state.subscriptionTags,
      }),
  },
  {
    methods: ['GET'],
    pattern: /^\/subscriptions\/([^/]+)\/resourcegroups$/i,
    authorize: (req) => ({ action: `${GROUP_ACTION}/read`, scope: req.path.replace(/\/resourcegroups$/i, '') }),
    handle: (req, _m, ctx) => {
      const filter = parseFilter(req.query.get('$filter'));
      const groups = ctx.state.resourceGroups().filter((g) => filter.test({ name: g.name, location: g.location, tags: g.tags }));
      return json(200, page(req, ctx, groups.map((g) => groupBody(g, !filter.byTag))));
    },
  },
  {
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'],
    pattern: /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)$/i,
    authorize: (req) => ({
      action: `${GROUP_ACTION}/${{ GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' }[req.method]}`,
      scope: req.path,
    }),
    handle: (req, m, ctx) => {
      const name = m[2];
      const { state } = ctx;
      switch (req.method) {
        case 'HEAD':
          return { status: state.liveGroup(name) ? 204 : 404 };
        case 'GET':
          return json(200, groupBody(state.requireGroup(name)));
        case 'PUT': {
          const body = objectBody(req);
          if (typeof body.location !== 'string' || !body.location) {
            throw armErrors.badRequest('LocationRequired', 'The location property is required for this definition.');
          }
          const existing = state.liveGroup(name);
          if (existing && normalize(existing.location) !== normalize(body.location)) {
            throw armErrors.conflict(
              'InvalidResourceGroupLocation',
              `Invalid resource group location '${body.location}'. The Resource group already exists in location '${existing.location}'.`,
            );
          }
          if (existing?.provisioningState === 'Deleting') {
            throw armErrors.conflict('ResourceGroupBeingDeleted', `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`);
          }
          const { group, created } = state.putGroup(name, body.location, stringRecord(body.tags, 'tags'));
          return json(created ? 201 : 200, groupBody(group));
        }
        case 'PATCH': {
          const group = state.requireGroup(name);
          const body = objectBody(req);
          if ('tags' in body) group.tags = stringRecord(body.tags, 'tags');
          return json(200, groupBody(group));
        }
        default: {
          const group = state.requireGroup(name);
          group.provisioningState = 'Deleting';
          const op = startOperation(ctx, ctx.timing.operationMs, () => state.removeGroup(group.name));
          return acceptedWithLocation(req, ctx, op);
        }
      }
    },
  },
];

function normalize(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}
