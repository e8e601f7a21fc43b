import type { Logger } from '../log/context';
import type { Catalog, CommandSpec } from '../domain/catalog';
import type { DelegationPolicy } from '../domain/delegation';
import type { AccessPolicy } from '../domain/policy';
import type { SubscriptionEnvironments } from '../domain/risk';
import type { AuditRecord } from '../domain/audit';
import type { ApprovalRequest } from '../domain/request';
import type { Transition } from '../domain/lifecycle';
import { canonicalJson } from '../domain/canonical';
import { requestShapeProblem } from '../domain/request-shape';
import type { RequestRate } from './request-rate';
import type { RoundsUnderWay } from './round';
import { CommitOutcomeUnknownError, VersionConflictError, type ApproverMessenger, type AzureGateway, type Clock, type Directory, type IdGenerator, type RequestNotifier, type Store } from './ports';

/** The parts of the loaded configuration the use cases read. */
export interface PolicySource {
  /** The config file this policy was loaded from. */
  file: string;
  hash: string;
  catalog: Catalog;
  access: AccessPolicy;
  auditorRoles: string[];
  /** The `delegation` block (absent: delegation on, at most 14 days). */
  delegation?: DelegationPolicy;
  /** The `azure.environments` block: which environment each subscription is (none: names alone say). */
  subscriptionEnvironments?: SubscriptionEnvironments;
  loadTemplate(relativePath: string): Record<string, unknown>;
}

export interface AppDeps {
  store: Store;
  azure: AzureGateway;
  notifier: RequestNotifier;
  config: PolicySource;
  clock: Clock;
  ids: IdGenerator;
  log: Logger;
  /** The subscription requests target (the sandbox's when no Azure subscription is configured). */
  subscriptionId: string;
  /** One person's rate of new requests (none: unlimited). */
  requestRate?: RequestRate;
  /** How approvers are told of requests in personal chats and approval channels (none: they are not). */
  messenger?: ApproverMessenger;
  /** Entra group membership, for roles that list groups (none: such roles are held by their named people only, and a decision needing a group is refused). */
  directory?: Directory;
  /** The rounds of messages under way on this instance, so that a graceful stop records them (none: a stop cannot). */
  rounds?: RoundsUnderWay;
  /**
   * Set when no other instance can be running on this store (SQLite: one bot per data directory),
   * to when this one started: a round begun before then was a dead run's, taken up at the first sweep
   * instead of ROUND.resumeAfterMs after it began.
   */
  onlyInstanceSince?: Date;
}

/** The command's current policy (after a restart with a new config, this is the new one). */
export function currentCommand(deps: AppDeps, name: string): CommandSpec | undefined {
  return deps.config.catalog.find(name);
}

/** The catalog's command names, so a request's command is written as it would be typed again (command-words.ts commandWords). */
export function commandNamesOf(deps: Pick<AppDeps, 'config'>): string[] {
  return deps.config.catalog.commands.map((c) => c.name);
}

const MAX_CAS_ATTEMPTS = 50;

export interface TransactOptions {
  /**
   * Whether the request's cards are refreshed after the change (default true). Bookkeeping that no
   * card shows (a lease renewed or released, ARM's reference recorded) passes false.
   */
  refreshCards?: boolean;
  /**
   * When the commit's outcome is unknown (the database connection broke during COMMIT): read the
   * request again, and take the change as saved when the request is stored as it made it (its audit
   * records are then not returned), or try again on what is stored when it is not. For the sweeps,
   * whose change is the only record that someone is to be told (expired, reminded, escalated): one
   * thrown away there was saved with nobody told, and no later sweep would tell them. The error is
   * thrown as it was when the request cannot be read.
   */
  readBackUnknownCommit?: boolean;
}

/**
 * Reads the request, applies a pure transition and saves it with a version check, retrying on
 * conflict with a fresh read (the compare-and-swap loop). A refusal from the transition is final
 * only once the version it was judged on is still the stored one: a change that landed meanwhile
 * (an approval committed while a cancel was judged past expiry on the version before it) is read
 * and judged again, so nobody is told, nor is it audited, that a request is what it no longer is.
 * Every committed change of a request passes here, and refreshes its cards; the
 * only other callers of the notifier's cardChanged are the start's refreshCards (countersign.ts) and
 * a round's record when nothing stored changed (notifications.ts).
 */
export async function transact(
  deps: AppDeps,
  requestId: string,
  transition: (current: ApprovalRequest) => Transition,
  options: TransactOptions = {},
): Promise<{ before: ApprovalRequest; result: Transition; records: AuditRecord[] } | undefined> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const current = await deps.store.requests.get(requestId);
    if (!current) return undefined;
    const result = transition(current);
    if (!result.ok) {
      const stored = await deps.store.requests.get(requestId);
      if (stored && stored.version !== current.version) continue;
      return { before: current, result, records: [] };
    }
    try {
      const records = await deps.store.requests.update(result.request, current.version, result.events);
      if (options.refreshCards !== false) void deps.notifier.cardChanged(result.request);
      return { before: current, result, records };
    } catch (err) {
      if (err instanceof VersionConflictError) continue;
      if (!(err instanceof CommitOutcomeUnknownError) || !options.readBackUnknownCommit) throw err;
      const stored = await deps.store.requests.get(requestId).catch(() => {
        throw err;
      });
      if (stored && storedAsMade(stored, result.request)) {
        deps.log.warn({ requestId, err: err.message }, 'the commit\'s answer was lost, and the request is stored as it made it: taken as saved');
        if (options.refreshCards !== false) void deps.notifier.cardChanged(result.request);
        return { before: current, result, records: [] };
      }
    }
  }
  throw new Error(`request ${requestId} kept changing under ${MAX_CAS_ATTEMPTS} attempts to update it`);
}

/** The stored request is the one this change made (same version, same content). */
function storedAsMade(stored: ApprovalRequest, made: ApprovalRequest): boolean {
  const plain = (r: ApprovalRequest): string => canonicalJson(r);
  return stored.version === made.version && plain(stored) === plain(made);
}

/**
 * The request as a view reads it (status, pending, the personal card): undefined when there is none,
 * or when its row does not read as a request (request-shape.ts), which is logged with the field at
 * fault instead of throwing wherever the row is first read. Changes read rows as they are (transact):
 * the executor fails such a row, audited (execution-evidence.ts).
 */
export async function readRequest(deps: Pick<AppDeps, 'store' | 'log'>, requestId: string): Promise<ApprovalRequest | undefined> {
  const r = await deps.store.requests.get(requestId);
  return r && readableRequests(deps, [r])[0];
}

/** The rows that read as requests; each other one is logged and left out, so one damaged row takes no list away from everyone. */
export function readableRequests(deps: Pick<AppDeps, 'log'>, rows: readonly ApprovalRequest[]): ApprovalRequest[] {
  return rows.filter((r) => {
    const problem = requestShapeProblem(r);
    if (problem !== undefined) deps.log.error({ requestId: (r as { id?: unknown }).id, problem }, 'request not shown: its stored row does not read as a request (written outside Countersign?)');
    return problem === undefined;
  });
}
