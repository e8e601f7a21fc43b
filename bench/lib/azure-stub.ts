/**
 * An AzureGateway that records calls and answers the way ARM does for a long operation: the target
 * snapshot (drift check) at once, the operation accepted at once (onStarted: its ids are recorded and
 * the card shows EXECUTING), and the outcome only once the benchmark releases it, as a resource group
 * deletion that takes minutes would. The measured window so holds what an approval costs the bot
 * while its operation runs (the click, the drift check, the claim, the started record, the card
 * updates Teams' rate limit lets through) and no time goes into emulating Azure, which is not
 * Countersign's work. The run checks in the audit log that every approval was claimed for
 * execution exactly once.
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
  // Held operations end at a steady pace once released (as ARM's would, not all in one instant).
  const held: (() => void)[] = [];
  let releasing = !options.hold;
  const release = (): void => {
    if (releasing) return;
    releasing = true;
    const pace = setInterval(() => {
      for (const finish of held.splice(0, 25)) finish();
      if (held.length === 0) clearInterval(pace);
    }, 25);
  };
  const released = (): Promise<void> => (releasing && held.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => held.push(resolve)));
  return {
    sandbox: true,
    calls,
    release,
    async whatIf(): Promise<WhatIfSummary> {
      calls.whatIf++;
      return { status: 'Succeeded', changes: [] };
    },
    async execute(op: ChangeOperation, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
      calls.execute++;
      const ref = { correlationId: `bench-${calls.execute}`, resourceIds: [`/subscriptions/${op.subscriptionId}/resourceGroups/bench`] };
      await hooks.onStarted(ref);
      await released();
      return { status: 'succeeded', ref, summary: 'done' };
    },
    async resume(_op: ChangeOperation, ref: ArmOperationRef): Promise<ExecutionOutcome> {
      calls.resume++;
      await released();
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
