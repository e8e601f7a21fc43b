/**
 * A run's hold on an execution's lease, as far as it can tell without asking the store: a lease
 * granted for `leaseMs` from a time read at some moment is the run's until that moment plus `leaseMs`
 * at least, and may be taken over by another run after it. That moment is kept on the monotonic clock
 * (elapsedOn), which runs on while the process is stopped (SIGSTOP, a long GC pause, a container
 * throttled to nothing) and no wall-clock step moves; and on the wall clock too, whichever of the two
 * says more time passed, in case a suspended host's monotonic clock did not count the time away.
 *
 * A write of the operation is sent only while at least a third of the lease is left: the margin
 * covers the time from this check to the bytes leaving (the check is the last thing before the HTTP
 * client; ExecutionHooks.maySend) and the reading of the database's clock the lease was granted by.
 */
import { elapsedOn, type Clock } from './ports';

/** When a lease was granted, on both clocks: read right before the time its expiry was computed from. */
export interface LeaseReading {
  /** elapsedOn(clock) */
  monotonic: number;
  /** clock.now(), in ms */
  wall: number;
}

export function leaseReadingNow(clock: Clock): LeaseReading {
  return { monotonic: elapsedOn(clock), wall: clock.now().getTime() };
}

export class LeaseHold {
  private lostToAnother = false;

  constructor(
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private from: LeaseReading,
  ) {}

  /** A renewal of the lease read at `from` committed. */
  renewed(from: LeaseReading): void {
    if (from.monotonic > this.from.monotonic) this.from = from;
  }

  /** A renewal was refused: another run holds the execution, or it ended. */
  lost(): void {
    this.lostToAnother = true;
  }

  /** How long the lease is surely this run's still (ms; negative once it may have passed). */
  left(): number {
    const passed = Math.max(elapsedOn(this.clock) - this.from.monotonic, this.clock.now().getTime() - this.from.wall);
    return this.leaseMs - passed;
  }

  /** Why a write must not be sent now, in words, or undefined while the lease is surely this run's. */
  sendWithheld(owner: string): string | undefined {
    if (this.lostToAnother) return `${owner} could not renew its lease: another run holds the execution, or it ended`;
    const left = this.left();
    if (left >= this.leaseMs / 3) return undefined;
    return `the lease of ${owner} had ${Math.max(0, Math.round(left))} ms of its ${this.leaseMs} ms left, less than the third kept in hand for a send, so another run may hold the execution by now (was this process paused?)`;
  }
}
