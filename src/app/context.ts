import type { Catalog, CommandSpec } from '../domain/catalog';
import type { AccessPolicy } from '../domain/policy';
import type { AuditEventDraft, AuditRecord } from '../domain/audit';
import type { ApprovalRequest } from '../domain/request';
import type { Transition } from '../domain/lifecycle';
import type { RequestRate } from './request-rate';
import { VersionConflictError, type AzureGateway, type Clock, type IdGenerator, type RequestNotifier, type Store } from './ports';

/** The parts of the loaded configuration the use cases read. */
export interface PolicySource {
  hash: string;
  catalog: Catalog;
  access: AccessPolicy;
  auditorRoles: string[];
  azure: { subscriptionId: string; sandbox: boolean };
  loadTemplate(relativePath: string): Record<string, unknown>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
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
}

/** The command's current policy (after a restart with a new config, this is the new one). */
export function currentCommand(deps: AppDeps, name: string): CommandSpec | undefined {
  return deps.config.catalog.find(name);
}

const MAX_CAS_ATTEMPTS = 50;

/**
 * Reads the request, applies a pure transition and saves it with a version check, retrying on
 * conflict with a fresh read (the compare-and-swap loop). A refusal from the transition on any
 * attempt is final.
 */
export async function transact(
  deps: AppDeps,
  requestId: string,
  transition: (current: ApprovalRequest) => Transition,
): Promise<{ before: ApprovalRequest; result: Transition; records: AuditRecord[] } | undefined> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const current = await deps.store.requests.get(requestId);
    if (!current) return undefined;
    const result = transition(current);
    if (!result.ok) return { before: current, result, records: [] };
    try {
      const records = await deps.store.requests.update(result.request, current.version, result.events);
      return { before: current, result, records };
    } catch (err) {
      if (err instanceof VersionConflictError) continue;
      throw err;
    }
  }
  throw new Error(`request ${requestId} kept changing under ${MAX_CAS_ATTEMPTS} attempts to update it`);
}

export function appendAudit(deps: AppDeps, events: AuditEventDraft[]): Promise<AuditRecord[]> {
  return deps.store.audit.append(events);
}
