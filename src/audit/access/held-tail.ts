/**
 * A stream to a reader that keeps back the last chunk written to it until `release()`: an export
 * sent over HTTP reaches its reader whole only once it is recorded (`audit.exported`), so that an
 * export whose record could not be written is cut short instead of delivered unrecorded. Everything
 * before the last chunk goes out as it comes, with the reader's back-pressure.
 */
import { Writable } from 'node:stream';
import { writeChunk } from '../formats/output';

export class HeldTail extends Writable {
  private tail: Buffer | undefined;
  private readerGone = false;
  /** Why the reader stopped getting the export (it went away), once it did. */
  failure: Error | undefined;

  constructor(private readonly out: Writable) {
    super();
    // A reader gone away fails the write that meets it (the export sees it through the write's
    // drain or close, output.ts, or through `failure`); without a listener the 'error' event would
    // end the process.
    this.on('error', () => undefined);
    out.once('close', () => (this.readerGone = true));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const previous = this.tail;
    this.tail = chunk;
    if (!previous) return done();
    this.forward(previous).then(
      () => done(),
      (err: Error) => {
        this.failure ??= err;
        // Nothing more goes out: the chunk kept back is let go with the export.
        this.tail = undefined;
        done(err);
      },
    );
  }

  /** Everything written so far goes out, the last chunk included. */
  async release(): Promise<void> {
    if (!this.writableEnded) await new Promise<void>((resolve, reject) => this.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const tail = this.tail;
    this.tail = undefined;
    if (tail) await this.forward(tail);
  }

  private async forward(chunk: Buffer): Promise<void> {
    if (this.readerGone || this.out.destroyed || this.out.writableEnded) throw new Error('the reader went away before the export was complete');
    // A reader that goes away fails the export, also one gone while its answer was backed up (the
    // response then closes without an 'error' and never drains).
    await writeChunk(this.out, chunk);
  }
}
