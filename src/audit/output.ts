/**
 * Writing export text to a stream with backpressure, so an export of millions of records holds only
 * one record in memory at a time.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export interface ExportSummary {
  count: number;
  /** 0 when nothing was exported. */
  firstSeq: number;
  lastSeq: number;
}

export async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed) throw new Error('the export output was closed before the export finished');
  if (!out.write(chunk)) {
    // 'error' rejects the once() promise, so a broken pipe or a full disk fails the export.
    await once(out, 'drain');
  }
}

export function tally(summary: ExportSummary, seq: number): void {
  if (summary.count === 0) summary.firstSeq = seq;
  summary.lastSeq = seq;
  summary.count += 1;
}
