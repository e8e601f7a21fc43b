/**
 * What crosses between the SQLite store's main thread (thread-writer.ts) and its writer thread
 * (writer-thread.ts): the database the thread opens, the writes and questions sent to it, and its
 * answers. Plain data only, as structured cloning takes it.
 */
import type { ReadinessOptions } from './readiness';
import type { SealedWire, WireTemplate } from './transaction-chain';
import type { WireError } from './writer';
import type { WriteOpName } from './write-ops';

export interface ThreadData {
  file: string;
  busyTimeoutMs: number;
  lockWaitLimitMs?: number;
  readiness?: ReadinessOptions;
}

/**
 * A write as it crosses to the thread. Its audit events come as sealing templates the main thread
 * made (sealTemplate: the record's canonical JSON with placeholders for seq, previous hash and
 * hash), a string each; the thread seals them against the chain's head and inserts them.
 * Structured cloning the event objects instead cost about four times as much as making the
 * template, and the thread answers with three fields a record instead of the record.
 */
export interface WireWrite {
  id: number;
  op: WriteOpName;
  args: unknown[];
  events: WireTemplate[];
  single: boolean;
  /** What was left of its turn's deadline when it was submitted (ms), if it belongs to a person's turn. */
  left?: number;
}

export type Request =
  | { type: 'writes'; writes: WireWrite[] }
  | { type: 'readiness'; id: number; again?: boolean }
  | { type: 'pragma'; id: number; text: string }
  | { type: 'stall'; id: number; ms: number }
  | { type: 'close' };

export type Result = { id: number; ok: true; value: unknown; sealed?: SealedWire[] } | { id: number; ok: false; error: WireError };

export type Reply =
  | { type: 'opened' }
  | { type: 'failed'; error: WireError }
  | { type: 'done'; results: Result[] }
  /** The database file was deleted, replaced or cut while open: nothing more can be written. */
  | { type: 'fatal'; error: WireError }
  | { type: 'answer'; result: Result }
  | { type: 'closed' };
