/**
 * The use cases wired to fakes only: the in-memory store, ARM in memory, a recording notifier, a
 * clock the test moves and ids in sequence. No HTTP, no SQLite, no sandbox: each test runs in
 * milliseconds and sees exactly what the use cases did.
 */
import { Countersign } from '../../src/app/countersign';
import type { AppDeps } from '../../src/app/context';
import type { ExecutorOptions } from '../../src/app/execution';
import type { ApproverMessenger, Directory, Store } from '../../src/app/ports';
import { collect } from '../store/store-contract';
import { loadConfig, parseConfig, type CountersignConfig } from '../../src/config/load';
import type { AuditFilter, AuditRecord } from '../../src/domain/audit';
import type { ApprovalRequest } from '../../src/domain/request';
import { RecordingLog, RecordingNotifier, sequentialRequestIds, TestClock } from './app-fakes';
import { MemoryAzure } from './memory-azure';
import { MemoryStore } from './memory-store';
import { EXAMPLE_CONFIG } from './people';
import { SUBSCRIPTION } from './requests';

export { SUBSCRIPTION };
export const START = new Date('2026-03-02T09:00:00.000Z');

export interface AppOnFakes<S extends Store = MemoryStore> {
  app: Countersign;
  deps: AppDeps;
  store: S;
  azure: MemoryAzure;
  notifier: RecordingNotifier;
  clock: TestClock;
  log: RecordingLog;
  config: CountersignConfig;
  /** The audit records, optionally filtered. */
  audit(filter?: AuditFilter): Promise<AuditRecord[]>;
  /** The stored request (fails the test when there is none). */
  request(id: string): Promise<ApprovalRequest>;
  /** Another run of Countersign on the same store and Azure (e.g. one taking over an execution). */
  anotherRun(options?: ExecutorOptions): Countersign;
}

export interface AppOnFakesOptions {
  /** YAML replacing the example config (its templates are resolved next to the example). */
  configText?: string;
  /** A config file to load instead of the example (with its templates beside it). */
  configFile?: string;
  executor?: ExecutorOptions;
  /** How approvers are told (none: they are not). */
  messenger?: ApproverMessenger;
  /** Entra group membership (none: roles hold only their named people). */
  directory?: Directory;
}

export function appOnFakes(options: AppOnFakesOptions = {}): AppOnFakes {
  return appOnStore(new MemoryStore(), options);
}

/** The same fakes around another store (a PostgreSQL one, say). */
export function appOnStore<S extends Store>(store: S, options: AppOnFakesOptions = {}): AppOnFakes<S> {
  const config = options.configText ? parseConfig(options.configText, EXAMPLE_CONFIG) : loadConfig(options.configFile ?? EXAMPLE_CONFIG);
  const azure = new MemoryAzure(true);
  const notifier = new RecordingNotifier();
  const clock = new TestClock(START);
  const log = new RecordingLog();
  const deps: AppDeps = { store, azure, notifier, config, clock, ids: sequentialRequestIds(), log, subscriptionId: SUBSCRIPTION, ...(options.messenger ? { messenger: options.messenger } : {}), ...(options.directory ? { directory: options.directory } : {}) };
  const executor = { owner: 'run-a', correlationId: counter('corr-'), ...options.executor };
  const app = new Countersign(deps, executor);
  return {
    app,
    deps,
    store,
    azure,
    notifier,
    clock,
    log,
    config,
    audit: (filter) => collect(store.audit.read(filter)),
    async request(id) {
      const r = await store.requests.get(id);
      if (!r) throw new Error(`no request ${id} in the store`);
      return r;
    },
    anotherRun: (more) => new Countersign(deps, { owner: 'run-b', correlationId: counter('corr-b-'), ...more }),
  };
}

/**
 * One instance of Countersign as on a host of its own: its own store (a PostgreSQL pool on the shared
 * database) and clock, the shared ARM in memory. Its request ids start with `CS-<OWNER>`.
 */
export function instanceOn(store: Store, clock: TestClock, azure: MemoryAzure, executor: ExecutorOptions & { owner: string }): { app: Countersign; log: RecordingLog } {
  const log = new RecordingLog();
  const deps: AppDeps = { store, azure, notifier: new RecordingNotifier(), config: loadConfig(EXAMPLE_CONFIG), clock, ids: sequentialRequestIds(`CS-${executor.owner.toUpperCase()}`), log, subscriptionId: SUBSCRIPTION };
  return { app: new Countersign(deps, executor), log };
}

function counter(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}
