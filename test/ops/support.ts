/**
 * Countersign with its real logger (src/log/logger.ts) writing JSON lines into memory, on the real
 * clock, the ARM sandbox and the fake Bot Connector: what an operator would see in the logs of a
 * real run. Started by the one test starter, startHarness.
 */
import type { RunningCountersign } from '../../src/composition-root';
import type { ArmSandbox } from '../../src/sandbox';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { createLogger } from '../../src/log/logger';
import type { FakeConnector } from '../support/connector';
import { startHarness } from '../support/harness';
import { FAST_TIMING, gatewayFor } from '../support/sandbox';
import type { TeamsDriver } from '../support/teams';

export type LogLine = Record<string, unknown> & { msg?: string };

export interface LoggedCountersign {
  bot: RunningCountersign;
  sandbox: ArmSandbox;
  connector: FakeConnector;
  teams: TeamsDriver;
  /** Every line logged so far, parsed. */
  lines: LogLine[];
  /** Every line logged so far, exactly as written. */
  raw: string[];
  stop(): Promise<void>;
}

export async function startLoggedCountersign(options: { secrets?: string[]; wrapStore?: (store: Store) => Store } = {}): Promise<LoggedCountersign> {
  const h = await startHarness({
    logger: (sink) => createLogger('debug', sink, { secrets: options.secrets ?? [] }),
    realTime: true,
    sandboxTiming: FAST_TIMING,
    azure: (sandbox) => gatewayFor(sandbox),
    ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}),
  });
  return { bot: h.bot, sandbox: h.sandbox, connector: h.connector, teams: h.teams, lines: h.logs as LogLine[], raw: h.rawLogs, stop: () => h.stop() };
}

/** Waits for the bot's background work (executions, card updates) to finish. */
export async function settled(c: LoggedCountersign): Promise<void> {
  await c.bot.executor.idle();
  await c.bot.notifier.idle();
}
