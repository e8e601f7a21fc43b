/**
 * Running an approved request, in the background (never inside a click's invoke). The claim
 * approved → executing is a compare-and-swap, so however many approvals race, one execution runs.
 */
import { finishExecution, recordProgress, recordStarted, startExecution } from '../domain/lifecycle';
import type { ArmOperationRef, ExecutionOutcome, OperationProgress } from '../domain/operation';
import type { Actor, ApprovalRequest } from '../domain/request';
import { currentCommand, transact, type AppDeps } from './context';

/** Least time between two recorded progress steps of one operation (card updates follow them). */
const PROGRESS_INTERVAL_MS = 1000;

export class Executor {
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly deps: AppDeps) {}

  /** Starts executing in the background; safe to call more than once for the same request. */
  schedule(request: Pick<ApprovalRequest, 'id'>): void {
    if (this.running.has(request.id)) return;
    const run = this.run(request.id)
      .catch((err: unknown) => this.deps.log.error({ requestId: request.id, err: String(err) }, 'execution crashed'))
      .finally(() => this.running.delete(request.id));
    this.running.set(request.id, run);
  }

  /** Resolves when every execution started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  private async run(requestId: string): Promise<void> {
    const { deps } = this;
    const claim = await transact(deps, requestId, (r) =>
      startExecution(r, deps.clock.now(), (actor: Actor) => this.stillApprover(r, actor)),
    );
    if (!claim || !claim.result.ok) return; // someone else claimed it, or it is no longer approved
    const claimed = claim.result.request;
    void deps.notifier.cardChanged(claimed);
    if (claimed.state !== 'executing') {
      await deps.notifier.tellRequester(claimed, `Request ${claimed.id} was not executed. ${claimed.outcomeDetail ?? ''}`.trim());
      return;
    }
    deps.log.info({ requestId, kind: claimed.operation.kind }, 'execution started');
    let started = false;
    let lastProgressAt = 0;
    let lastProgressKey = '';
    let outcome: ExecutionOutcome;
    try {
      outcome = await deps.azure.execute(claimed.operation, {
        onStarted: async (ref: ArmOperationRef) => {
          started = true;
          await this.save(requestId, (r) => recordStarted(r, ref, deps.clock.now()));
        },
        onProgress: async (progress: OperationProgress) => {
          const key = `${progress.state}/${progress.done ?? ''}/${progress.total ?? ''}`;
          const now = deps.clock.now().getTime();
          if (key === lastProgressKey || now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
          lastProgressKey = key;
          lastProgressAt = now;
          const saved = await this.save(requestId, (r) => recordProgress(r, progress, deps.clock.now()));
          if (saved) void deps.notifier.cardChanged(saved);
        },
      });
    } catch (err) {
      // The gateway reports ARM errors as outcomes; a throw is unexpected. Once ARM accepted the
      // operation we cannot know how it ended, and never claim success.
      const error = { code: 'ExecutionError', message: err instanceof Error ? err.message : String(err) };
      outcome = started ? { status: 'unknown', ref: { resourceIds: [] }, error } : { status: 'failed', ref: { resourceIds: [] }, error };
    }
    const finished = await this.save(requestId, (r) => finishExecution(r, outcome, deps.clock.now()));
    if (!finished) return;
    void deps.notifier.cardChanged(finished);
    await deps.notifier.tellRequester(finished, completionText(finished));
    deps.log.info({ requestId, state: finished.state }, 'execution finished');
  }

  private stillApprover(r: ApprovalRequest, actor: Actor): boolean {
    const command = currentCommand(this.deps, r.command);
    const roles = command?.policy?.approverRoles ?? [];
    return this.deps.config.access.isApproverFor(roles, actor);
  }

  private async save(requestId: string, fn: Parameters<typeof transact>[2]): Promise<ApprovalRequest | undefined> {
    const outcome = await transact(this.deps, requestId, fn);
    return outcome?.result.ok ? outcome.result.request : undefined;
  }
}

export function completionText(r: ApprovalRequest): string {
  const sandbox = r.sandbox ? '[SANDBOX] ' : '';
  if (r.state === 'succeeded') return `${sandbox}Request ${r.id} (${r.command}) succeeded.${r.outcomeDetail ? ` ${r.outcomeDetail}` : ''}`;
  if (r.state === 'failed') return `${sandbox}Request ${r.id} (${r.command}) failed: ${r.outcomeDetail ?? 'unknown error'}`;
  return `${sandbox}Request ${r.id} (${r.command}) ended in an unknown state: ${r.outcomeDetail ?? ''}. Check the target in Azure before retrying.`;
}
