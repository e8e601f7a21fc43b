/**
 * The `azure.environments` block: which environment each subscription is, for the risk band and the
 * card's first sentence ("in PRODUCTION") where names say nothing (the same `rg-app` in the
 * production and the test subscription). What the schema cannot check is checked here: environment
 * names a card can say, and each subscription in one environment only.
 */
import type { CommandSpec } from '../domain/catalog';
import { readsAsProduction, type SubscriptionEnvironments } from '../domain/risk';
import type { RawConfig } from './types';
import type { At } from './validate';

/** An environment's name, as the card says it ("in staging"): lower-case letters, digits and -. */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** Each listed subscription (lower case) to its environment; empty when the block is not given. */
export function buildEnvironments(raw: RawConfig['azure'], at: At): SubscriptionEnvironments {
  const environments = new Map<string, string>();
  for (const [name, subscriptions] of Object.entries(raw?.environments ?? {})) {
    const key = ['azure', 'environments', name];
    if (!ENVIRONMENT_NAME.test(name)) {
      at(key, `environment "${name}" must be a lower-case name of at most 30 characters (letters, digits, -), such as production or staging: cards say it`);
    } else if (name !== 'production' && readsAsProduction(name)) {
      // Two names for production would split it; one that reads as production but is not would be shown as it is, at a lower risk.
      at(key, `environment "${name}" reads as production: name it production (the one environment whose requests are raised to production risk), or give a non-production environment a name without prod, prd or live as a word`);
    }
    subscriptions.forEach((subscription, i) => {
      const id = subscription.toLowerCase();
      const already = environments.get(id);
      if (already === name) at([...key, i], `subscription ${subscription} is listed twice under ${name}`);
      else if (already !== undefined) {
        at([...key, i], `subscription ${subscription} is listed under both ${already} and ${name}: a subscription is in one environment; remove it from the one it is not`);
      } else environments.set(id, name);
    });
  }
  return environments;
}

/** The subscription segment of a resource id or scope: `/subscriptions/<this>/...`. */
const SUBSCRIPTION_SEGMENT = /^\/subscriptions\/([^/]*)/i;
const WHOLE_PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * The subscriptions Countersign may act in that `azure.environments`, when it lists any, does not:
 * the configured `azure.subscriptionId`, and those a command's `resourceId`/`scope` names (written
 * out, or an enum parameter's values). A request there has no environment but what its names say,
 * so a production subscription forgotten in the list reads as none, at a lower risk: said at start
 * and by `config check`, one sentence per subscription, naming where it comes from and the key to fix.
 */
export function unlistedSubscriptionWarnings(
  environments: SubscriptionEnvironments,
  subscriptionId: string,
  commands: readonly CommandSpec[],
): { subscription: string; problem: string }[] {
  if (environments.size === 0) return [];
  const unlisted = new Map<string, { subscription: string; where: string[] }>();
  const add = (subscription: string, where: string) => {
    const id = subscription.toLowerCase();
    if (id === '' || environments.has(id)) return;
    const entry = unlisted.get(id) ?? { subscription, where: [] };
    if (!entry.where.includes(where)) entry.where.push(where);
    unlisted.set(id, entry);
  };
  if (subscriptionId) add(subscriptionId, 'azure.subscriptionId');
  for (const command of commands) {
    for (const field of ['resourceId', 'scope']) {
      const value = command.operation[field];
      const segment = typeof value === 'string' ? SUBSCRIPTION_SEGMENT.exec(value)?.[1] : undefined;
      if (segment === undefined) continue;
      const where = `the ${field} of command "${command.name}"`;
      const placeholder = WHOLE_PLACEHOLDER.exec(segment)?.[1];
      // {subscriptionId} is azure.subscriptionId, said once above; another placeholder is an enum's values (operation-checks.ts).
      if (placeholder === 'subscriptionId') continue;
      if (placeholder) for (const allowed of command.parameters.find((p) => p.name === placeholder)?.allowed ?? []) add(allowed, `a value of ${placeholder} in ${where}`);
      else if (!segment.includes('{')) add(segment, where);
    }
  }
  const listed = [...new Set(environments.values())].join(', ');
  return [...unlisted.values()].map(({ subscription, where }) => ({
    subscription,
    problem: `subscription ${subscription} (${where.join('; ')}) is in none of azure.environments (${listed}): its requests get no environment but what their names say, so were it production they would read as lower risk; list it under its environment in azure.environments`,
  }));
}

