/**
 * Tags at any scope (subscription, resource group, resource): {scope}/providers/Microsoft.Resources/tags/default.
 * PUT replaces all tags, PATCH merges, replaces or deletes (by name, or by name and value), DELETE removes all.
 */
import type { Route, SandboxContext } from '../context';
import { armErrors, json, objectBody, stringRecord, isRecord } from '../http';

const SCOPE_GROUP = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)$/i;

interface TagHolder {
  read(): Record<string, string>;
  write(tags: Record<string, string>): void;
}

function holderAt(scope: string, ctx: SandboxContext): TagHolder {
  const { state } = ctx;
  if (/^\/subscriptions\/[^/]+$/i.test(scope)) {
    return { read: () => state.subscriptionTags, write: (t) => (state.subscriptionTags = t) };
  }
  const group = SCOPE_GROUP.exec(scope);
  if (group) {
    const g = state.requireGroup(group[2]);
    return { read: () => g.tags, write: (t) => (g.tags = t) };
  }
  const r = state.requireResource(scope);
  return {
    read: () => r.tags,
    write: (t) => {
      r.tags = t;
      state.touch(r);
    },
  };
}

function tagsBody(scope: string, tags: Record<string, string>): Record<string, unknown> {
  return {
    id: `${scope}/providers/Microsoft.Resources/tags/default`,
    name: 'default',
    type: 'Microsoft.Resources/tags',
    properties: { tags },
  };
}

function requestedTags(body: Record<string, unknown>): Record<string, string> {
  return stringRecord(isRecord(body.properties) ? body.properties.tags : undefined, 'properties.tags');
}

export const tagRoutes: Route[] = [
  {
    methods: ['GET', 'PUT', 'PATCH', 'DELETE'],
    pattern: /^(\/subscriptions\/[^/]+(?:\/.+)?)\/providers\/Microsoft\.Resources\/tags\/default$/i,
    authorize: (req, m) => ({
      action: `Microsoft.Resources/tags/${{ GET: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' }[req.method]}`,
      scope: m[1],
    }),
    handle: (req, m, ctx) => {
      const scope = m[1];
      const holder = holderAt(scope, ctx);
      switch (req.method) {
        case 'PUT':
          holder.write(requestedTags(objectBody(req)));
          break;
        case 'PATCH': {
          const body = objectBody(req);
          const tags = requestedTags(body);
          const current = holder.read();
          const operation = String(body.operation ?? '').toLowerCase();
          if (operation === 'merge') holder.write({ ...current, ...tags });
          else if (operation === 'replace') holder.write(tags);
          else if (operation === 'delete') {
            const kept = Object.entries(current).filter(([k, v]) => !(k in tags) || (tags[k] !== '' && tags[k] !== v));
            holder.write(Object.fromEntries(kept));
          } else {
            throw armErrors.badRequest('InvalidTagOperation', `The tag operation '${String(body.operation)}' is not valid. Use Merge, Replace or Delete.`);
          }
          break;
        }
        case 'DELETE':
          holder.write({});
          break;
      }
      return json(200, tagsBody(scope, holder.read()));
    },
  },
];
