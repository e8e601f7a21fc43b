/**
 * An AzureGateway that records calls and answers the way ARM does for a long operation: it accepts
 * at once (onStarted: the ids are recorded and the card shows EXECUTING) and reports the outcome
 * only when the benchmark releases it, as a resource group deletion that takes minutes would. The
 * measured window so holds what an approval costs the bot while its operation runs (the click, the
 * claim, the started record, the card updates for everyone), and no time goes into emulating Azure,
 * which is not Countersign's work. After the window every held operation completes, and the run
 * checks that each approved request was executed exactly once.
 */
import type { AzureGateway, ExecutionHooks } from '../../src/app/ports';
import type { TargetSnapshot } from '../../src/domain/drift';
import type { ArmOperationRef, ChangeOperation, ExecutionOutcome, QueryResult, WhatIfSummary } from '../../src/domain/operation';

export interface RecordingAzure extends AzureGateway {
  calls: { execute: number; resume: number; snapshot: number; cancel: number; whatIf: number; query: number };
  /** Lets every held operation (and every later one) finish. */
  release(): void;
}

export function recordingAzure(options: { hold?: boolean } = {}): RecordingAzure {
  const calls = { execute: 0, resume: 0, snapshot: 0, cancel: 0, whatIf: 0, query: 0 };
  let release = (): void => undefined;
  const released = options.hold ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  return {
    sandbox: true,
    calls,
    release: () => release(),
    async whatIf(): Promise<WhatIfSummary> {
      calls.whatIf++;
      return { status: 'Succeeded', changes: [] };
    },
    async execute(op: ChangeOperation, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
      calls.execute++;
      const ref = { correlationId: `bench-${calls.execute}`, resourceIds: [`/subscriptions/${op.subscriptionId}/resourceGroups/bench`] };
      await hooks.onStarted(ref);
      await released;
      return { status: 'succeeded', ref, summary: 'done' };
    },
    async resume(_op: ChangeOperation, ref: ArmOperationRef): Promise<ExecutionOutcome> {
      calls.resume++;
      await released;
      return { status: 'succeeded', ref, summary: 'done' };
    },
    async snapshot(): Promise<TargetSnapshot> {
      calls.snapshot++;
      // The same answer every time: the target never drifts between request and execution.
      return { exists: true, etag: 'W/"bench"', facts: { location: 'westeurope', 'tags.owner': 'platform-team' } };
    },
    async cancel(): Promise<void> {
      calls.cancel++;
    },
    async query(): Promise<QueryResult> {
      calls.query++;
      return { title: 'bench', columns: [], rows: [] };
    },
  };
}
