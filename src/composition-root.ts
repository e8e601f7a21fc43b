/**
 * The composition root: the one place that builds every part and wires them together. The entry
 * point (main.ts) starts it; tests start the real thing through `startCountersign` with their own
 * settings and fakes at the network edge.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PrivateConversationState } from 'botbuilder';
import type pino from 'pino';
import type { AppDeps } from './app/context';
import { Countersign } from './app/countersign';
import type { Logger } from './log/context';
import type { Executor } from './app/execution';
import { RequestRate } from './app/request-rate';
import { RefusalBudget } from './app/refusal-budget';
import { randomRequestIds, systemClock } from './app/ids';
import { elapsedOn, type AzureGateway, type Clock, type Directory, type IdGenerator } from './app/ports';
import type { CountersignStore } from './store/countersign-store';
import { checkCredentialConfig } from './azure/credential-check';
import type { StoppableAzureGateway } from './azure/gateway';
import { lazyAzureGateway } from './azure/lazy-gateway';
import { AuditorAccess } from './audit/access/auditor-access';
import { checkpointSchedule } from './audit/access/checkpoint-schedule';
import { Checkpointer, checkpointFileOf } from './audit/access/checkpoints';
import { checkedSigner, refuseEmptiedDatabase } from './audit/access/continuity';
import { reportDeletedRequests, reportMissingProtection } from './audit/access/deleted-requests';
import { AuditIndexWatch } from './audit/verify/index-watch';
import { loadConfig, type CountersignConfig } from './config/load';
import { createLogger, withLogContext } from './log/logger';
import { prettyDestination } from './log/pretty';
import { DEFAULT_SUBSCRIPTION_ID as SANDBOX_SUBSCRIPTION_ID } from './sandbox/seed';
import { isLoopbackHost, LOOPBACK_TEXT } from './loopback';
import { publicUrlWarning, readSettings, SettingsError, type Settings } from './settings';
import { DataDirectoryError, openConfiguredStore, type OpenedStore } from './store/open-store';
import type { WriterThreadBoot } from './store/sqlite';
import { InstanceLockedError } from './store/sqlite/instance-lock';
import { SqliteStartupError } from './store/sqlite/open-problem';
import { parsePostgresUrl, PostgresStartupError } from './store/postgres/url';
import { auditCommandHandler } from './teams/audit-command';
import { registerAuditRoutes } from './http/audit-routes';
import { CountersignBot } from './teams/bot';
import { BoundedMemoryStorage } from './teams/bounded-storage';
import { TeamsNotifier } from './teams/notifier';
import { TeamsApproverMessenger } from './teams/personal-conversations';
import { createServer } from './http/server';
import { activityEndpoint, createAdapter } from './teams/adapter';
import { ConversationRateLimiter, shareOfLimits } from './teams/rate-limit';
import type { Telemetry } from './telemetry';
import { nobodyMayAskWarning, stuckRequesterWarning, unapprovableWarning, unreachedWarning } from './domain/policy-text';

export class StartupError extends Error {}

/** How long after a start the bot first counts the indexes of the audit log (src/audit/verify/index-watch.ts). */
const INDEX_LOOK_AFTER_START_MS = 10_000;

export interface StartOptions {
  settings?: Settings;
  config?: CountersignConfig;
  store?: CountersignStore;
  /** An Azure gateway to use instead of the one the config describes (tests). */
  azure?: AzureGateway;
  /** Entra group membership to use instead of Microsoft Graph (tests). */
  directory?: Directory;
  clock?: Clock;
  ids?: IdGenerator;
  log?: pino.Logger & Logger;
  /** How often pending requests are checked for expiry (ms). */
  sweepIntervalMs?: number;
  /** At shutdown, how long executions under way may take to finish and the messages and card updates under way to go, together, before the store is closed (ms). */
  shutdownGraceMs?: number;
  /** Telemetry to use instead of the one the settings name (tests: in-memory exporters). */
  telemetry?: Telemetry;
  /**
   * Told when Countersign cannot go on (the SQLite store's writer thread stopped, so nothing more can
   * be recorded); after it is logged. `node dist/main.js` stops and exits with 1, for the service
   * manager to restart it.
   */
  onFatal?: (reason: string) => void;
  /**
   * With the SQLite store: its writer thread, started ahead by the entry point while it loaded the
   * rest of Countersign (main.ts); otherwise the store starts one when it opens.
   */
  sqliteWriterThread?: WriterThreadBoot;
}

export interface RunningCountersign {
  url: string;
  port: number;
  deps: AppDeps;
  /** The whole store (every layer's part of it). */
  store: CountersignStore;
  /** Request forms in progress (bounded; tests look at its size). */
  dialogStorage: BoundedMemoryStorage;
  executor: Executor;
  notifier: TeamsNotifier;
  /** The use cases (tests drive the reminder and escalation sweeps through it). */
  app: Countersign;
  /** Graceful stop: no new activities, in-flight work and card updates finish (within the grace periods), store closed. */
  stop(): Promise<void>;
}

/** Refuses to run unauthenticated anywhere but loopback: without an app id anyone could post activities. */
export function checkListenAddress(settings: Settings): void {
  if (!settings.microsoftApp.id && !isLoopbackHost(settings.host)) {
    throw new StartupError(
      `Refusing to listen on ${settings.host} without MicrosoftAppId: with no app id, Bot Framework authentication is off and anyone could post activities as anyone. Set MicrosoftAppId (and MicrosoftAppPassword / MicrosoftAppType / MicrosoftAppTenantId), or listen on ${LOOPBACK_TEXT}, such as 127.0.0.1.`,
    );
  }
}

/**
 * Authentication off (no MicrosoftAppId) is for trying Countersign on the ARM sandbox: against a real
 * subscription, anyone who can reach loopback (another user or process on the host, a proxy there,
 * a web page by DNS rebinding) could request as one person and approve as another, and Azure would
 * run it. Refused unless COUNTERSIGN_INSECURE_NO_AUTH=true says that is meant.
 */
export function checkAuthenticationOff(settings: Settings, config: CountersignConfig): void {
  if (settings.microsoftApp.id || config.azure.sandbox || settings.insecureNoAuth) return;
  throw new StartupError(
    `Refusing to start against Azure subscription ${config.azure.subscriptionId} without MicrosoftAppId: with no app id, Bot Framework authentication is off, and anyone who can reach ${settings.host} could ask as one person and approve as another. Set MicrosoftAppId (and MicrosoftAppPassword / MicrosoftAppType / MicrosoftAppTenantId); or leave azure.subscriptionId empty for the ARM sandbox; or, to try a real subscription unauthenticated on this machine knowingly, set COUNTERSIGN_INSECURE_NO_AUTH=true.`,
  );
}

export async function startCountersign(options: StartOptions = {}): Promise<RunningCountersign> {
  const settings = options.settings ?? readSettings();
  // A person at a terminal reads lines; anything else (a container's log collector, a pipe) gets JSON.
  const destination = process.stdout.isTTY ? prettyDestination(process.stdout) : undefined;
  const log = options.log ?? createLogger(settings.logLevel, destination, { secrets: [...settings.secrets, ...databaseSecrets(settings)] });
  let config: CountersignConfig;
  try {
    checkListenAddress(settings);
    config = options.config ?? loadConfig(settings.configPath);
    checkAuthenticationOff(settings, config);
  } catch (err) {
    // Wrong settings or a wrong config touch nothing: the store is not opened (nor created).
    await options.sqliteWriterThread?.discard();
    throw err;
  }
  const closers: (() => Promise<void>)[] = [];

  let store: CountersignStore;
  let opened: OpenedStore | undefined;
  /** Once the checkpointer exists: what is done when the store stops under the bot. */
  const storeStopped: { run?: () => void; stopped?: true } = {};
  if (options.store) {
    store = options.store;
  } else {
    opened = await openStore(settings, log, options.sqliteWriterThread, (err) => {
      log.fatal({ err: err.message }, 'the store can no longer write: Countersign must be restarted');
      storeStopped.stopped = true;
      storeStopped.run?.();
      options.onFatal?.(err.message);
    });
    store = opened.store;
  }
  const connectionString = settings.applicationInsightsConnectionString;
  const telemetry = options.telemetry ?? (connectionString ? startTelemetry(connectionString) : undefined);
  if (telemetry && !options.telemetry) closers.push(() => telemetry.shutdown());
  if (telemetry) log.info({}, 'telemetry on: traces and metrics go to Application Insights');
  // With telemetry on, the audit appends (whence the business metrics) and the ARM calls are observed.
  if (telemetry) store = telemetry.store(store);
  const built = options.azure
    ? { azure: options.azure, subscriptionId: config.azure.subscriptionId || SANDBOX_SUBSCRIPTION_ID }
    : await buildAzure(config, settings, closers, log);
  const { subscriptionId } = built;
  const azure = telemetry ? telemetry.azure(built.azure) : built.azure;
  // At a stop: every call still waiting for ARM fails at once (an injected gateway has none).
  const stopWaitingForAzure = (): void => (built.azure as Partial<StoppableAzureGateway>).stopWaiting?.();

  const adapter = createAdapter(settings.microsoftApp, log, (err) => store.storageFault(err), settings.teamsSendTimeoutMs, azure.sandbox);
  const notifier = new TeamsNotifier(adapter, settings.microsoftApp.id, { getReference: (id) => store.conversations.getReference(id), getCardMessages: (id) => store.cards.getCardMessages(id), claimCardVersion: (id, m, v, l) => store.cards.claimCardVersion(id, m, v, l), releaseCardVersion: (id, m, v, h, shown) => store.cards.releaseCardVersion(id, m, v, h, shown) }, log);
  // Several instances send into the same conversations: each keeps to its share of Teams' limits.
  notifier.limiter = new ConversationRateLimiter(shareOfLimits(settings.instances), () => performance.now(), undefined, telemetry?.sendThrottled);
  // A turn's replies count in the same windows (and wait for room ahead of the notifier's sends).
  adapter.limiter = { acquire: (conversationId, ahead) => notifier.limiter.acquire(conversationId, ahead) };
  // A card version's lease keeps other instances' newer updates back while this one's travels. On
  // SQLite there is one instance: a process restarted after a crash is that same instance and takes
  // up the cards its predecessor held at once, instead of waiting for their leases to run out.
  if (settings.store.kind === 'sqlite') notifier.cardLease.holder = 'sqlite';
  const deps: AppDeps = {
    store,
    azure,
    notifier,
    config,
    clock: options.clock ?? systemClock,
    ids: options.ids ?? randomRequestIds,
    log,
    subscriptionId,
    requestRate: new RequestRate({ max: settings.requestsPerPersonPerHour, perMs: 3_600_000 }),
    messenger: new TeamsApproverMessenger(adapter, settings.microsoftApp.id, notifier, {
      getReference: (id) => store.conversations.getReference(id),
      saveReference: (id, r) => store.conversations.saveReference(id, r),
      getPersonalReference: (t, id) => store.conversations.getPersonalReference(t, id),
      savePersonalReference: (t, id, r) => store.conversations.savePersonalReference(t, id, r),
    }, log),
  };
  // One bot per SQLite data directory (its instance lock): rounds of messages a predecessor left are a dead run's.
  if (settings.store.kind === 'sqlite' && !options.store) deps.onlyInstanceSince = deps.clock.now();
  const directory = options.directory ?? graphDirectory(config, settings);
  if (directory) deps.directory = directory;
  // The audit signing key and checkpoints of the chain head. A log emptied, replaced or cut short
  // since a checkpoint stops this start before it appends anything (docs/faults.md).
  const checkpointFile = checkpointFileOf(settings.dataDir);
  const auditDatabase = { kind: opened?.kind ?? settings.store.kind, ...(opened ? { where: opened.where } : {}) };
  const signer = await checkedSigner(store, settings.dataDir, checkpointFile, auditDatabase, log).catch(async (err: unknown) => {
    if (!options.store) await store?.close();
    throw err;
  });
  // A look for rows deleted by hand, said in the log; the start does not wait for it.
  void reportDeletedRequests(store, log).catch((err: unknown) => log.warn({ err: String(err) }, 'could not look for requests deleted outside Countersign'));
  const lookForMissingProtection = () => void reportMissingProtection(store, log).catch((err: unknown) => log.warn({ err: String(err) }, 'could not look at the audit trail\'s append-only triggers'));
  lookForMissingProtection();
  // The indexes of the audit log counted against its records: soon after the start, and at each timed checkpoint.
  const indexWatch = new AuditIndexWatch(store, log);
  const lookAtIndexes = () => void indexWatch.look().catch((err: unknown) => log.warn({ err: String(err) }, 'could not look at the indexes of the audit log'));
  const checkpointer = new Checkpointer({ store, signer, clock: deps.clock, file: checkpointFile, log, keyDir: settings.dataDir });
  // A log cut short while the bot runs (a -wal truncated, say) would otherwise be taken at the next
  // start as it is: what this process committed is vouched for in the file the database is not.
  storeStopped.run = () => {
    const head = opened?.lastWitnessed?.();
    if (!head) return;
    try {
      checkpointer.witnessOnStop(head);
    } catch (err) {
      log.error({ err: String(err) }, 'could not sign the last committed record into the audit checkpoint file as the store stopped');
    }
  };
  const signNow = (trigger: 'records' | 'execution' | 'timer') => () =>
    withLogContext({ job: 'audit-checkpoint' }, () => checkpointer.write(trigger)).catch((err: unknown) => log.error({ err: String(err) }, 'audit checkpoint failed'));
  const schedule = checkpointSchedule(store, { every: config.audit.checkpointEveryRecords, due: (trigger) => signNow(trigger)() });
  deps.store = store = schedule.store;
  const app = new Countersign(deps, { leaseMs: settings.executionLeaseMs });
  const executor = app.executor;
  try {
    await app.started(settings.microsoftApp.id ? 'bot-framework' : 'off');
    await checkpointer.write('start');
  } catch (err) {
    // The start's first writes: a full disk or a held lock said with the file and what to do.
    if (!options.store) await store.close().catch(() => undefined);
    const said = opened?.startProblem?.(err);
    throw said ? new StartupError(said.message) : err;
  }
  const dialogStorage = new BoundedMemoryStorage({ maxEntries: settings.dialogStateMaxEntries, ttlMs: settings.dialogStateTtlMs, now: () => elapsedOn(deps.clock) });
  const bot = new CountersignBot(app, store.conversations, new PrivateConversationState(opened?.dialogState ?? dialogStorage));
  if (telemetry) bot.run = telemetry.turns(bot.run.bind(bot));
  notifier.cardOptions = (r) => bot.sharedOptions(r);
  // Auditor access: Teams `audit export` and the audit HTTP routes.
  let publicUrl = settings.publicUrl;
  const auditors = new AuditorAccess({
    store,
    signer,
    clock: deps.clock,
    log,
    access: config.access,
    auditorRoles: config.auditorRoles,
    ...(config.audit.http ? { http: config.audit.http } : {}),
    publicUrl: () => publicUrl,
    refusalGate: (summarise) => new RefusalBudget(deps.clock, summarise, (err) => log.error({ err: String(err) }, 'could not record the count of refused audit exports')),
  });
  bot.auditCommand = auditCommandHandler(auditors, azure.sandbox);

  let stopping = false;
  let storeWasOk = true;
  /** Whether the store can take a durable write now (its files checked too), logged when that changes. */
  const storeReady = async (): Promise<boolean> => {
    const storeOk = await deps.store.ping().catch(() => false);
    if (storeOk !== storeWasOk) logReadiness(log, deps.store, storeOk);
    storeWasOk = storeOk;
    return storeOk;
  };
  const inFlight = new Set<Promise<unknown>>();
  const server = createServer({
    handleActivity: activityEndpoint(adapter, bot),
    log,
    stopping: () => stopping,
    track: (work) => {
      inFlight.add(work);
      return work.finally(() => inFlight.delete(work));
    },
    ready: async () => {
      const storeOk = await storeReady();
      // The policy version tells instances running different configs apart.
      return { ok: storeOk, checks: { config: true, store: storeOk, ...(opened ? { storeKind: opened.kind } : {}), policyVersion: config.hash } };
    },
    routes: (s) => registerAuditRoutes(s, auditors, signer, log, settings.auditExportIdleMs),
    onAuthRefused: (attempt) => app.authRefused(attempt),
    authenticationOff: !settings.microsoftApp.id,
  });
  // Loaded only with telemetry on: it brings the OpenTelemetry API (44 modules) into the start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (telemetry) (require('./http/trace-requests') as typeof import('./http/trace-requests')).traceHttpRequests(server, telemetry.requestTracer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, settings)));
    server.listen(settings.port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  // Requests approved before a restart but never claimed are executed now; expiry is caught up.
  await app.catchUp();
  // Cards of requests that ended, or changed, lately are brought to their state, in the background (a
  // stop or a crash may have cut off their last update; those already showing it are left alone).
  void withLogContext({ job: 'recent-cards' }, () => app.refreshCards()).catch((err: unknown) => log.error({ err: String(err) }, 'bringing the cards of recent requests up to date failed'));
  const sweeper = setInterval(() => {
    withLogContext({ job: 'expiry-sweep' }, () => app.sweepExpired()).catch((err: unknown) => log.error({ err: String(err) }, 'expiry sweep failed'));
    // The store's files are checked even when nothing is written and nobody probes /readyz: a database
    // file deleted under an idle bot stops it within a sweep, not at its next write.
    void storeReady();
  }, options.sweepIntervalMs ?? 15_000);
  sweeper.unref();
  // Scheduled requests whose time came are started (the execution's claim runs each once across instances).
  const scheduleSweeper = setInterval(() => {
    withLogContext({ job: 'schedule-sweep' }, () => app.sweepScheduled()).catch((err: unknown) => log.error({ err: String(err) }, 'schedule sweep failed'));
  }, options.sweepIntervalMs ?? 15_000);
  scheduleSweeper.unref();
  // Escalations and reminders due: recorded on the request before anyone is told, so once across instances.
  const reachSweeper = setInterval(() => {
    withLogContext({ job: 'reach-sweep' }, () => app.sweepReach()).catch((err: unknown) => log.error({ err: String(err) }, 'reminder and escalation sweep failed'));
    withLogContext({ job: 'break-glass-review-sweep' }, () => app.sweepBreakGlassReviews()).catch((err: unknown) => log.error({ err: String(err) }, 'break-glass review sweep failed'));
  }, options.sweepIntervalMs ?? 15_000);
  reachSweeper.unref();
  // Executions a run that died (or stopped) left behind are resumed once their lease expired: now, and
  // whenever one expires later (a lease held by a run that just died expires after startup).
  const resumeAbandoned = () =>
    withLogContext({ job: 'resume-sweep' }, async () => {
      await app.resumeAbandoned();
      await app.runStranded();
    }).catch((err: unknown) => log.error({ err: String(err) }, 'resuming executions failed'));
  await resumeAbandoned();
  const resumer = setInterval(() => void resumeAbandoned(), Math.min(15_000, Math.max(250, Math.floor(settings.executionLeaseMs / 2))));
  resumer.unref();

  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  // PORT=0 picked a free port: links handed out must name the one picked.
  if (/:0$/.test(publicUrl)) publicUrl = url;
  const checkpoints = setInterval(() => {
    void signNow('timer')();
    lookForMissingProtection();
    lookAtIndexes();
  }, config.audit.checkpointIntervalSeconds * 1000);
  checkpoints.unref();
  log.info(
    {
      url: `${url}/api/messages`,
      auth: settings.microsoftApp.id ? `${settings.microsoftApp.type} app ${settings.microsoftApp.id}` : 'OFF (no MicrosoftAppId): loopback only',
      azure: azure.sandbox ? `SANDBOX (subscription ${subscriptionId})` : `subscription ${subscriptionId}`,
      config: config.file,
      configHash: config.hash,
      ...(opened ? { store: `${opened.kind} ${opened.where}` } : {}),
      instances: settings.instances,
    },
    'Countersign is listening',
  );
  // Not in the first seconds, when the start's own work (catching up, cards, the first clicks) runs.
  const firstIndexLook = setTimeout(lookAtIndexes, INDEX_LOOK_AFTER_START_MS);
  firstIndexLook.unref();
  if (!settings.microsoftApp.id && !azure.sandbox) {
    log.error(
      { host: settings.host, subscriptionId },
      'Bot Framework authentication is OFF (no MicrosoftAppId) against a real Azure subscription, because COUNTERSIGN_INSECURE_NO_AUTH=true: anyone who can reach loopback can act as anyone',
    );
  } else if (!settings.microsoftApp.id) {
    log.warn({ host: settings.host }, 'Bot Framework authentication is OFF because MicrosoftAppId is empty; listening on loopback only');
  } else if (azure.sandbox) {
    // Served to Teams, yet nothing an approval runs reaches Azure: a config whose subscription was never set.
    log.warn({ config: config.file }, 'Countersign serves Teams (MicrosoftAppId is set) but runs every operation against the ARM sandbox, because azure.subscriptionId is empty in the config: nothing approved reaches Azure (cards say SANDBOX). Set azure.subscriptionId to act on Azure');
  }
  // Links are built on the public URL: for a bot served to Teams, one an auditor cannot open, or over plain http, is said now.
  const linkProblem = publicUrlWarning({ ...settings, publicUrl });
  if (linkProblem) log.warn({ publicUrl }, linkProblem);
  if (opened?.unencryptedHost) {
    log.warn(
      { host: opened.unencryptedHost },
      `the PostgreSQL connection to ${opened.unencryptedHost} is not encrypted: PGSSLMODE (or the URL's sslmode) is unset, disable, allow or prefer, and Countersign then connects without TLS (it cannot fall back as psql does); set PGSSLMODE=verify-full`,
    );
  }
  // A single-tenant bot (SingleTenant, UserAssignedMSI) is reached only from its own tenant: were that
  // tenant not allowed, every activity would be refused, the bot otherwise healthy.
  const identity = settings.microsoftApp;
  if (identity.id && identity.type !== 'MultiTenant' && !config.access.tenantAllowed(identity.tenantId)) {
    log.warn(
      { tenantId: identity.tenantId, tenants: config.tenants },
      `MicrosoftAppTenantId ${identity.tenantId} is not among the config's tenants: a ${identity.type} bot is reached only from its own tenant, so every activity will be refused (tenant-not-allowed); add it to tenants`,
    );
  }
  for (const command of config.catalog.commands) {
    const nobody = nobodyMayAskWarning(command, config.access.roles);
    if (nobody) log.warn({ command: command.name, problem: nobody }, 'nobody may ask for a command');
    const problem = unapprovableWarning(command, config.access.roles);
    if (problem) log.warn({ command: command.name, problem }, 'a command can never be approved');
    const stuck = stuckRequesterWarning(command, config.access.roles);
    if (stuck) log.warn({ command: command.name, problem: stuck }, 'someone may ask for a command but never have it approved');
    const unreached = unreachedWarning(command, config.access.roles);
    if (unreached) log.warn({ command: command.name, problem: unreached }, 'nobody is sent a command\'s requests');
  }

  return {
    url,
    port,
    deps,
    store,
    dialogStorage,
    executor,
    notifier,
    app,
    async stop() {
      // Keep listening while draining, so activities arriving now get a clear 503 (Teams retries)
      // rather than a refused connection, and /readyz reports not ready.
      stopping = true;
      clearInterval(sweeper);
      clearInterval(scheduleSweeper);
      clearInterval(reachSweeper);
      clearInterval(resumer);
      clearInterval(checkpoints);
      clearTimeout(firstIndexLook);
      indexWatch.stop();
      schedule.stop();
      // The turns under way, then the executions, then the messages they left, share one grace period
      // (messages get at least a quarter of it), so that the whole stop fits a platform's usual 30 s.
      const graceMs = options.shutdownGraceMs ?? 20_000;
      const deadline = performance.now() + graceMs;
      const turnsDone = async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      };
      if (!(await settledWithin(turnsDone, graceMs))) {
        // A turn still waiting is waiting for Azure (a store write gives up after its own lock wait):
        // its calls are given up, and its person is told the target could not be read. The executions
        // are stopped first, so that a drift check given up leaves its request approved, not failed.
        log.warn({ turns: inFlight.size }, 'turns still waiting for Azure at shutdown: their calls to Azure are given up');
        void executor.stop();
        stopWaitingForAzure();
        await turnsDone();
      }
      await settleExecutions(executor, Math.max(Math.round(deadline - performance.now()), 0), log, stopWaitingForAzure);
      await settleMessages(app, notifier, Math.max(Math.round(deadline - performance.now()), graceMs / 4), log);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Refusals of unauthenticated callers counted past their budget are recorded before the last checkpoint.
      await Promise.all([app.flushRefusals(), auditors.flushRefusals()]);
      // The last head before the store closes is signed too: a log cut while the bot is down shows.
      // Not over a store that stopped under the bot: what it holds now is not what was written.
      if (!storeStopped.stopped) await checkpointer.write('shutdown').catch((err: unknown) => log.error({ err: String(err) }, 'audit checkpoint at shutdown failed'));
      for (const close of closers.reverse()) await close();
      if (!options.store) await deps.store.close();
      log.info({}, 'Countersign stopped');
    },
  };
}

/** Loaded only when telemetry is on: OpenTelemetry and the Azure Monitor distro cost start-up time otherwise. */
function startTelemetry(connectionString: string): Telemetry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startAzureMonitor } = require('./azure/monitor-telemetry') as typeof import('./azure/monitor-telemetry');
  return startAzureMonitor(connectionString);
}

/** When readiness changes, the log says why (the stores can tell: full, locked, closed, read-only). */
function logReadiness(log: Logger, store: object, ok: boolean): void {
  const problem = (store as Partial<{ writeReadiness(): { problem?: string } }>).writeReadiness?.().problem;
  if (ok) log.info({}, 'store ready for writes again');
  else log.warn({ problem }, 'store not ready for writes: /readyz answers 503');
}

/** The store the settings choose; a PostgreSQL that cannot be used stops startup with what to do. */
async function openStore(settings: Settings, log: Logger, sqliteWriterThread: WriterThreadBoot | undefined, onWriterStopped: (err: Error) => void): Promise<OpenedStore> {
  const pg = settings.store.kind === 'postgres' ? settings.store.postgres : undefined;
  const databasePassword =
    pg?.auth === 'entra' ? azureLayer().entraDatabasePassword(azureLayer().createCredential({ type: 'default', ...(pg.entraClientId ? { clientId: pg.entraClientId } : {}) }), pg.entraScope ? { scope: pg.entraScope } : {}) : undefined;
  try {
    return await openConfiguredStore(settings.store, {
      dataDir: settings.dataDir,
      ...(databasePassword ? { databasePassword } : {}),
      lockWaitMs: settings.storeLockWaitMs,
      onWriterStopped,
      ...(sqliteWriterThread ? { sqliteWriterThread } : {}),
      // An emptied or deleted database is held against the checkpoint file, and its -wal, before SQLite
      // opens it (and deletes the -wal); anything else is checked once open, with the checkpoint table too.
      beforeEmptyDatabase: (found) => refuseEmptiedDatabase(settings.dataDir, checkpointFileOf(settings.dataDir), found),
      // The same for a PostgreSQL schema with none of Countersign's tables, before any is made: an
      // emptied database is not taken for a new one and given empty tables.
      beforeEmptySchema: (found) => refuseEmptiedDatabase(settings.dataDir, checkpointFileOf(settings.dataDir), found, { kind: 'postgres', where: found.where }),
      onConnectionError: (err) => log.warn({ err: err.message }, 'a PostgreSQL connection broke; the pool opens a new one'),
    });
  } catch (err) {
    if (err instanceof PostgresStartupError) throw new StartupError(`the PostgreSQL store cannot be used: ${err.message}`);
    if (err instanceof InstanceLockedError) throw new StartupError(err.message);
    if (err instanceof SqliteStartupError) throw new StartupError(err.message);
    if (err instanceof DataDirectoryError) throw new StartupError(`COUNTERSIGN_DATA_DIR: ${err.message}`);
    throw err;
  }
}

/** Database passwords kept out of the log. */
function databaseSecrets(settings: Settings): string[] {
  if (settings.store.kind !== 'postgres') return [];
  const { password, url } = settings.store.postgres;
  let inUrl: string | undefined;
  try {
    inUrl = url ? parsePostgresUrl(url).password : undefined;
  } catch {
    inUrl = undefined;
  }
  return [password, inUrl].filter((s): s is string => !!s);
}

/** True once `work()` settled, false when `ms` passed first. */
async function settledWithin(work: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([work().then(() => true), timedOut]);
  clearTimeout(timer);
  return settled;
}

/**
 * Gives executions under way time to finish before the store closes. One still running after the
 * grace period stays `executing` in the store, with the ARM ids recorded so far.
 */
async function settleExecutions(executor: Executor, graceMs: number, log: Logger, stopWaitingForAzure: () => void): Promise<void> {
  if (await settledWithin(() => executor.idle(), graceMs)) return;
  log.warn({ graceMs }, 'executions still running at shutdown; each stays as recorded, for the next start: executing (resumed) or, not yet started, approved');
  // Stop waiting for Azure (a drift check's read as well as an operation's answer) and release their
  // leases, so the next start resumes them at once. Stopped first: nothing new starts, and a run whose
  // call to Azure is given up stays as recorded.
  const stopped = executor.stop();
  stopWaitingForAzure();
  if (!(await settledWithin(() => stopped, EXECUTOR_STOP_WAIT_MS))) {
    log.warn({ waitedMs: EXECUTOR_STOP_WAIT_MS }, 'an execution did not stop in time; it stays as recorded, and its lease runs out for the next start to take it up');
  }
}

/** How long the executions get to release their leases once their calls to Azure were given up. */
const EXECUTOR_STOP_WAIT_MS = 3_000;

/**
 * Gives the card updates and messages under way time to go. Those still waiting for a busy
 * conversation's share of Teams' rate limit (or for another try) after the grace period are not
 * sent (logged, with how many), and the rounds telling approvers start no other message: a stop
 * takes bounded time whatever Teams holds back, so the platform does not kill the process before
 * the store is closed and the shutdown checkpoint signed. Whom each round reached and whom not is
 * recorded before that, those it had no answer for as not reached.
 */
async function settleMessages(app: Countersign, notifier: TeamsNotifier, graceMs: number, log: Logger): Promise<void> {
  const idle = () => Promise.all([app.tellingIdle(), notifier.idle()]);
  if (await settledWithin(idle, graceMs)) return;
  app.stopTelling();
  const dropped = notifier.abandonWaiting('Countersign is stopping');
  log.warn({ graceMs, dropped }, "card updates and messages still waiting for Teams' rate limit at shutdown were not sent");
  // Those already on their way to Teams finish, or get a last second; then the rounds are recorded as they stand.
  if (await settledWithin(idle, 1_000)) return;
  if (!(await settledWithin(() => app.cutTelling(), 1_000))) log.warn({}, 'who the messages under way at shutdown reached could not all be recorded');
  log.warn({}, 'card updates and messages still under way at shutdown were left unfinished');
}

async function buildAzure(
  config: CountersignConfig,
  settings: Settings,
  closers: (() => Promise<void>)[],
  log: Logger,
): Promise<{ azure: StoppableAzureGateway; subscriptionId: string }> {
  if (!config.azure.sandbox) {
    // A credential the config cannot give stops the start here; the SDK itself loads on first use.
    checkCredentialConfig(config.azure.credential, settings.azureCredentialEnv);
    const azure = lazyAzureGateway(false, () =>
      azureLayer().createAzureGateway({
        subscriptionId: config.azure.subscriptionId,
        credential: azureLayer().createCredential(config.azure.credential, settings.azureCredentialEnv),
        sandbox: false,
        timeoutMs: settings.azureTimeoutMs,
        ...(config.azure.endpoint ? { endpoint: config.azure.endpoint } : {}),
      }),
    );
    return { azure, subscriptionId: config.azure.subscriptionId };
  }
  // No subscription configured: the same SDK code against the local ARM sandbox.
  let endpoint = settings.armSandbox.url;
  let caPem = settings.armSandbox.caFile ? fs.readFileSync(settings.armSandbox.caFile, 'utf8') : undefined;
  let subscriptionId = settings.armSandbox.subscriptionId;
  if (!endpoint || !caPem) {
    // Loaded only here: the in-process sandbox (its certificate code above all) costs start-up time
    // that a bot talking to Azure, or to a sandbox of its own process, never needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startArmSandbox } = require('./sandbox/server') as typeof import('./sandbox/server');
    const sandbox = await startArmSandbox({ host: '127.0.0.1', port: 0 });
    closers.push(() => sandbox.close());
    endpoint = sandbox.url;
    caPem = sandbox.caPem;
    subscriptionId = sandbox.subscriptionId;
    log.info({ endpoint }, 'ARM sandbox started in-process');
  }
  const sub = subscriptionId ?? SANDBOX_SUBSCRIPTION_ID;
  const sandboxAt = { endpoint, caPem };
  const azure = lazyAzureGateway(true, () =>
    azureLayer().createAzureGateway({ subscriptionId: sub, credential: azureLayer().sandboxCredential(), ...sandboxAt, sandbox: true, timeoutMs: settings.azureTimeoutMs }),
  );
  return { azure, subscriptionId: sub };
}

/**
 * The Azure layer (the ARM and identity SDKs, Microsoft Graph), loaded when first needed: the bot
 * can answer before it has loaded them (src/azure/lazy-gateway.ts).
 */
function azureLayer(): typeof import('./azure') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./azure') as typeof import('./azure');
}

/** Microsoft Graph, with the identity used for Azure, when a role lists an Entra group (docs/entra-groups.md). */
function graphDirectory(config: CountersignConfig, settings: Settings): Directory | undefined {
  const roles = config.access.roles;
  if (roles.groupsOf(roles.names).length === 0) return undefined;
  const { GraphDirectory, createCredential } = azureLayer();
  return new GraphDirectory({
    credential: createCredential(config.azure.credential, settings.azureCredentialEnv),
    endpoint: config.directory.graphEndpoint,
    cacheLifetimeMs: config.directory.cacheLifetimeSeconds * 1000,
  });
}

/**
 * Why the bot could not listen, naming the setting to change: Node's own words ("getaddrinfo
 * ENOTFOUND 0.0.0.0x", "listen EADDRINUSE") name neither PORT nor COUNTERSIGN_HOST.
 */
function listenError(err: NodeJS.ErrnoException, settings: Settings): Error {
  const { port, host } = settings;
  switch (err.code) {
    case 'EADDRINUSE':
      return new SettingsError('PORT', `${port} on ${host} is already in use by another program (EADDRINUSE): stop it, or set PORT to a free port`);
    case 'EACCES':
      return new SettingsError('PORT', `${port} needs privileges this process does not have (EACCES): set PORT to a port above 1023`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new SettingsError('COUNTERSIGN_HOST', `"${host}" is not an address of this machine to listen on (${err.code}): give one of its IP addresses, 0.0.0.0 (every IPv4 address), :: or 127.0.0.1`);
    default:
      return err;
  }
}
