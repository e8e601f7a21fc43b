/**
 * Progress reports while ARM works. Reading progress costs an ARM call, so refreshes never overlap and a
 * burst of poll ticks becomes one refresh. A refresh that cannot read ARM is skipped: progress is only a
 * display, the next tick reads again, and the operation's outcome is decided by polling, not by this.
 */
import type { OperationProgress } from '../domain/operation';
import type { ExecutionHooks } from '../app/ports';
import { HookFailure } from './trace';

export class ProgressReporter {
  private running: Promise<void> | undefined;
  private pending = false;
  private hookError: unknown;
  private last: string | undefined;

  constructor(
    private readonly hooks: ExecutionHooks,
    private readonly read: () => Promise<OperationProgress | undefined>,
  ) {}

  /** Asks for a refresh (called on every poll). */
  kick(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.refresh().finally(() => {
      this.running = undefined;
      if (this.pending) {
        this.pending = false;
        this.kick();
      }
    });
  }

  /** Waits for refreshes in flight, reports `final` when given, and surfaces a failed hook. */
  async finish(final?: OperationProgress): Promise<void> {
    while (this.running) await this.running;
    if (final && this.hookError === undefined) await this.report(final);
    if (this.hookError !== undefined) throw new HookFailure(this.hookError);
  }

  /** Waits for refreshes in flight, without reporting anything more (the operation failed). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async refresh(): Promise<void> {
    let progress: OperationProgress | undefined;
    try {
      progress = await this.read();
    } catch {
      return;
    }
    if (progress) await this.report(progress);
  }

  private async report(progress: OperationProgress): Promise<void> {
    const key = JSON.stringify(progress);
    if (key === this.last || this.hookError !== undefined) return;
    this.last = key;
    try {
      await this.hooks.onProgress(progress);
    } catch (e) {
      this.hookError = e;
    }
  }
}
