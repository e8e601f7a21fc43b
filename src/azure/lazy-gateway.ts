/**
 * An AzureGateway whose Azure SDK loads on first use. The ARM clients and their dependencies are
 * about 350 modules; a bot loads them when it first needs Azure (a what-if, a drift check, an
 * execution, a query), not before it can answer, so a restart is ready sooner. The first such
 * operation after a start pays the load once (about 0.1-0.2 s of CPU).
 */
import type { StoppableAzureGateway } from './gateway';

export function lazyAzureGateway(sandbox: boolean, load: () => StoppableAzureGateway): StoppableAzureGateway {
  let loaded: StoppableAzureGateway | undefined;
  const gateway = () => (loaded ??= load());
  return {
    sandbox,
    // Nothing waits for ARM before the SDK is loaded.
    stopWaiting: () => loaded?.stopWaiting(),
    whatIf: (op) => gateway().whatIf(op),
    execute: (op, hooks) => gateway().execute(op, hooks),
    resume: (op, ref, hooks) => gateway().resume(op, ref, hooks),
    snapshot: (op) => gateway().snapshot(op),
    cancel: (op) => gateway().cancel(op),
    query: (op) => gateway().query(op),
  };
}
