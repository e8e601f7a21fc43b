/**
 * The `azure.environments` block: which environment each subscription is, for the risk band and the
 * card's first sentence ("in PRODUCTION") where names say nothing (the same `rg-app` in the
 * production and the test subscription). What the schema cannot check is checked here: environment
 * names a card can say, and each subscription in one environment only.
 */
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
