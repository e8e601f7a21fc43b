/**
 * How many audit exports (download links and the HTTP API) one instance runs at once. Each reads
 * the whole log on the main thread, the one that answers approvals: a leaked auditor token or a
 * script in a loop could otherwise start as many as it likes and slow Countersign down for everyone.
 * A slot is taken before anything is used up (a link's single use, an `audit.export_started`
 * record) and given back when the export ends, however it ends.
 */
export class ExportSlots {
  private running = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`the number of audit exports at once must be a whole number of at least 1, got ${limit}`);
  }

  /** How many exports hold a slot now. */
  get inUse(): number {
    return this.running;
  }

  /** A slot, as the function that gives it back (once, however often it is called); undefined when all are taken. */
  take(): (() => void) | undefined {
    if (this.running >= this.limit) return undefined;
    this.running++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.running--;
    };
  }
}
