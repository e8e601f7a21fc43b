/**
 * The composition root: the one place that builds every part and wires them together. The entry
 * point (main.ts) starts it; tests start the real thing through `startCountersign` with their own
 * settings and fakes at the network edge.
 */
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
import { checkCredentialConfig, checkCredentialFiles } from './azure/credential-check';
import type { StoppableAzureGateway } from './azure/gateway';
import { AuditorAccess } from './audit/access/auditor-access';
import { checkpointSchedule } from './audit/access/checkpoint-schedule';
import { Checkpointer, checkpointFileOf } from './audit/access/checkpoints';
import { watchCheckpointFile } from './audit/access/checkpoint-watch';
import { checkedSigner } from './audit/access/continuity';
import { reportDeletedRequests, reportMissingProtection } from './audit/access/deleted-requests';
import { AuditIndexWatch } from './audit/verify/index-watch';
import { loadConfig, type CountersignConfig } from './config/load';
import { createLogger, withLogContext } from './log/logger';
import { prettyDestination } from './log/pretty';
import { DEFAULT_SUBSCRIPTION_ID as SANDBOX_SUBSCRIPTION_ID } from './sandbox/seed';
import { readSettings, type Settings } from './settings';
import type { OpenedStore } from './store/open-store';
import type { WriterThreadBoot } from './store/sqlite';
import { auditCommandHandler } from './teams/audit-command';
import { registerAuditRoutes } from './http/audit-routes';
import { CountersignBot } from './teams/bot';
import { BoundedMemoryStorage } from './teams/bounded-storage';
import { TeamsNotifier } from './teams/notifier';
import { createServer } from './http/server';
import { activityEndpoint } from './teams/adapter';
import type { Telemetry } from './telemetry';
import { buildAzure, graphDirectory, startTelemetry } from './wiring/azure';
import { storeReadiness } from './wiring/readiness';
import { closeServer, settledWithin, settleExecutions, settleMessages, UnderWay } from './wiring/shutdown';
import { checkAuthenticationOff, checkConfigFile, checkInstances, checkListenAddress, listenError, StartupError } from './wiring/start-checks';
import { warnOfRiskyStart } from './wiring/start-warnings';
import { databaseSecrets, openStore } from './wiring/store';
import { startSweeps } from './wiring/sweeps';
import { teamsSending } from './wiring/teams';

export { checkAuthenticationOff, checkInstances, checkListenAddress, StartupError };

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
  /**
   * Aborted, with a reason, when a stop is asked while starting (main.ts, on a stop signal). Before
   * it listens the start closes what it opened and throws that reason (a wait for PostgreSQL's
   * migration lock ends at once); once listening, it cuts catching up short and returns, for the
   * caller to `stop()` the bot as any stop does.
   */
  stopStart?: AbortSignal;
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

export async function startCountersign(options: StartOptions = {}): Promise<RunningCountersign> {
  const settings = options.settings ?? readSettings();
  // A person at a terminal reads lines; anything else (a container's log collector, a pipe) gets JSON.
  const destination = process.stdout.isTTY ? prettyDestination(process.stdout) : undefined;
  const log = options.log ?? createLogger(settings.logLevel, destination, { secrets: [...settings.secrets, ...databaseSecrets(settings)] });
  let config: CountersignConfig;
  try {
    checkListenAddress(settings);
    // A store handed in (tests, several instances in one process) is not the settings' to judge.
    if (!options.store) checkInstances(settings);
    if (!options.config) checkConfigFile(settings);
    config = options.config ?? loadConfig(settings.configPath);
    checkAuthenticationOff(settings, config);
    // A credential the config and the environment cannot give (a secret unset, a token file missing).
    if (!options.azure && !config.azure.sandbox) {
      checkCredentialConfig(config.azure.credential, settings.azureCredentialEnv);
      checkCredentialFiles(config.azure.credential, settings.azureCredentialEnv);
    }
  } catch (err) {
    // Wrong settings or a wrong config touch nothing: the store is not opened (nor created).
    await options.sqliteWriterThread?.discard();
    throw err;
  }
  const closers: (() => Promise<void>)[] = [];
  const stopStart = options.stopStart;
  if (stopStart?.aborted) {
    await options.sqliteWriterThread?.discard();
    throw stopStart.reason;
  }

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
    }, stopStart);
    store = opened.store;
  }
  /** A stop asked before the bot listens: what was opened is closed, and the start goes no further. */
  const stopIfAsked = async (): Promise<void> => {
    if (!stopStart?.aborted) return;
    log.info({}, 'stop asked while starting: closing what was opened');
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (!options.store) await store.close().catch(() => undefined);
    throw stopStart.reason;
  };
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

  const { adapter, notifier, messenger } = teamsSending(settings, log, () => store, azure, telemetry);
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
    messenger,
  };
  // One bot per SQLite data directory (its instance lock): rounds of messages a predecessor left are a dead run's.
  if (settings.store.kind === 'sqlite' && !options.store) deps.onlyInstanceSince = deps.clock.now();
  const directory = options.directory ?? graphDirectory(config, settings);
  if (directory) deps.directory = directory;
  await stopIfAsked();
  // The audit signing key and checkpoints of the chain head. A log emptied, replaced or cut short
  // since a checkpoint stops this start before it appends anything (docs/faults.md).
  const checkpointFile = checkpointFileOf(settings.dataDir);
  const auditDatabase = { kind: opened?.kind ?? settings.store.kind, ...(opened ? { where: opened.where } : {}) };
  const signer = await checkedSigner(store, settings.dataDir, checkpointFile, auditDatabase, log).catch(async (err: unknown) => {
    if (!options.store) await store?.close().catch(() => undefined);
    // A database damaged where only these checks read (its checkpoint table): said with the file and what to do.
    const said = opened?.startProblem?.(err);
    throw said ? new StartupError(said.message) : err;
  });
  await stopIfAsked();
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
  const app = new Countersign(deps, { leaseMs: settings.executionLeaseMs, instances: settings.instances });
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
  await stopIfAsked();
  const dialogStorage = new BoundedMemoryStorage({ maxEntries: settings.dialogStateMaxEntries, ttlMs: settings.dialogStateTtlMs, now: () => elapsedOn(deps.clock) });
  const bot = new CountersignBot(app, store.conversations, new PrivateConversationState(opened?.dialogState ?? dialogStorage));
  if (telemetry) bot.run = telemetry.turns(bot.run.bind(bot));
  notifier.cardOptions = (r) => bot.sharedOptions(r);
  notifier.onReferenceMissing = (conversationId) => bot.forgetReference(conversationId);
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
    exportsAtOnce: settings.auditExportsAtOnce,
  });
  bot.auditCommand = auditCommandHandler(auditors, azure.sandbox);

  let stopping = false;
  const storeReady = storeReadiness(deps, log);
  const inFlight = new UnderWay();
  // The audit routes' answers, apart: a download may stream for minutes, and is cut at the stop's end (closeServer).
  const auditAnswers = new UnderWay();
  const server = createServer({
    handleActivity: activityEndpoint(adapter, bot),
    log,
    stopping: () => stopping,
    track: inFlight.track,
    ready: async () => {
      const storeOk = await storeReady();
      // Anyone who can reach the bot can ask: the policy version (which confirms a guessed config and
      // shows when it changes) and the store's kind stay in the start log line (configHash, store).
      return { ok: storeOk, checks: { config: true, store: storeOk } };
    },
    routes: (s) => registerAuditRoutes(s, auditors, signer, log, { idleMs: settings.auditExportIdleMs, track: auditAnswers.track }),
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

  // Requests approved before a restart but never claimed are executed now; expiry is caught up. A stop
  // asked meanwhile cuts it short (each request is one write) and starts no sweep: the caller stops the bot.
  await app.catchUp(stopStart);
  // Cards of requests that ended, or changed, lately, and of those an accepted loss of audit records
  // expired, are brought to their state, in the background (a stop or a crash may have cut off their
  // last update; those already showing it are left alone).
  // The stop (below) ends these background jobs, and the sweeps under way: once Countersign is
  // stopping they start no other card update, message or request (the next start does the rest).
  const stopJobs = new AbortController();
  if (!stopStart?.aborted) void withLogContext({ job: 'recent-cards' }, () => app.refreshCards(stopJobs.signal)).catch((err: unknown) => log.error({ err: String(err) }, 'bringing the cards of recent requests up to date failed'));
  // Outcome messages a run that died left owed (its outcome stored, "Request … succeeded." not yet sent), in the background too.
  if (!stopStart?.aborted) void withLogContext({ job: 'owed-messages' }, () => app.sendOwedMessages(true, stopJobs.signal)).catch((err: unknown) => log.error({ err: String(err) }, 'sending the outcome messages left owed failed'));
  const sweeps = stopStart?.aborted ? { stop: () => undefined } : await startSweeps(app, log, options, settings, storeReady, stopJobs.signal);

  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  // PORT=0 picked a free port: links handed out must name the one picked.
  if (/:0$/.test(publicUrl)) publicUrl = url;
  const checkpoints = setInterval(() => {
    void signNow('timer')();
    lookForMissingProtection();
    lookAtIndexes();
  }, config.audit.checkpointIntervalSeconds * 1000);
  checkpoints.unref();
  // PostgreSQL: every few seconds, the log held against the newest checkpoint of the file the instances
  // share: a database restored from an earlier dump under an idle instance stops it too (docs/faults.md).
  const holds = opened?.holdsCheckpoint;
  const fileWatch = holds
    ? watchCheckpointFile(checkpointFile, signer, holds, (err) => log.debug({ err: String(err) }, 'could not hold the audit log against the checkpoint file this time'))
    : undefined;
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
  warnOfRiskyStart(log, { ...settings, publicUrl }, config, azure, subscriptionId, opened);

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
      stopJobs.abort();
      sweeps.stop();
      clearInterval(checkpoints);
      fileWatch?.stop();
      clearTimeout(firstIndexLook);
      indexWatch.stop();
      schedule.stop();
      // The turns under way, then the executions, then the messages they left, share one grace period
      // (messages get at least a quarter of it), so that the whole stop fits a platform's usual 30 s.
      const graceMs = options.shutdownGraceMs ?? 20_000;
      const deadline = performance.now() + graceMs;
      const turnsDone = () => inFlight.idle();
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
      // What is left of the grace (at least a moment, for idle connections to close) for audit exports still being downloaded.
      await closeServer(server.server, auditAnswers, Math.max(Math.round(deadline - performance.now()), 250), log);
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
