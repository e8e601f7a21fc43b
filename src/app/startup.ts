/** What a start of Countersign records: which configuration it runs, so differing instances show in the trail. */
import type { AppDeps } from './context';

/** `authentication`: whether activities are checked (Bot Framework tokens) or taken as they come (no app id). */
export async function recordConfigLoaded(deps: AppDeps, authentication: 'bot-framework' | 'off'): Promise<void> {
  await deps.store.audit.append([
    {
      type: 'config.loaded',
      time: deps.clock.now().toISOString(),
      outcome: { result: 'ok', detail: deps.config.file },
      data: { configHash: deps.config.hash, commands: deps.config.catalog.commands.length, sandbox: deps.azure.sandbox, authentication },
    },
  ]);
}
