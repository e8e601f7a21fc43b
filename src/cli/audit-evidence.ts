/**
 * `countersign audit evidence <request-id>`: everything about one request in one folder (its audit
 * records with a signed manifest, the card at each step, the what-if, the ARM ids, the verification
 * result and a summary), the folder itself signed; the export is recorded in the audit log.
 */
import { plural } from '../domain/duration-text';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { exportAudit } from '../audit/access/export';
import { recordExportFinished } from '../audit/access/export-records';
import { checkEvents, checkVersions, EVENTS_MANIFEST, evidenceFiles, namedVersionProblems, signEvidence } from '../audit/access/evidence';
import type { EvidenceVerification } from '../audit/access/evidence';
import { canonicalRequestId, requestIdAsNamed } from '../domain/request-ids';
import type { AuditRecord } from '../domain/audit';
import { auditRecordHash } from '../domain/canonical';
import { uuidv7 } from '../store/ids';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../store/private-files';
import { installationSigner, requireAuditDatabase } from './audit-database';
import type { AuditDatabase } from './audit-database';
import { AuditInputError, operatorOf } from './audit-io';
import { existsAt, partialNameOf, removeAbandonedPartials } from '../output-file';
import { keepRecordedLeftovers } from './recorded-leftovers';
import type { AuditCliIo } from './audit-io';
import { checkCheckpoints } from './audit-verify-checkpoints';

export interface EvidenceOptions {
  dataDir?: string;
  out?: string;
  publicKey?: string;
}

export async function writeEvidence(typedId: string, opts: EvidenceOptions, io: AuditCliIo): Promise<number> {
  // As typed in chat: cs-pyrtn13s is CS-PYRTN13S.
  const requestId = canonicalRequestId(typedId);
  const db = requireAuditDatabase(opts.dataDir, io);
  const target = path.resolve(io.cwd, opts.out ?? `evidence-${requestId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  if (existsSync(target)) throw new AuditInputError(`${target} already exists: choose another --out`);
  if (!existsSync(path.dirname(target))) throw new AuditInputError(`cannot write ${target}: its directory does not exist`);
  for (const left of removeAbandonedPartials(target)) io.stderr.write(`Removed ${left}, left by an earlier command that did not finish.\n`);
  const store = await db.openStore();
  let temp = partialNameOf(target);
  try {
    await keepRecordedLeftovers(store, target, io, 'evidence');
    const signer = await installationSigner(db, store);
    const events: AuditRecord[] = [];
    // Read from the log itself, every record of it: an index could leave some out (verification below names one that does).
    for await (const r of store.audit.read({ requestId }, { scan: true })) events.push(r);
    const current = await store.requests.get(requestId);
    if (!current && events.length === 0) throw new AuditInputError(`there is no request ${requestIdAsNamed(typedId)} and no audit record names it`);
    const stored = await store.auditAccess.requestVersions(requestId);
    const versions = stored.length ? stored : current ? [current] : [];

    // The bundle holds the request's records and cards: for its owner only, whatever the umask.
    mkdirSync(temp, { mode: PRIVATE_DIR_MODE });
    const operator = operatorOf(io);
    const createdAt = new Date().toISOString();
    const out = createWriteStream(path.join(temp, 'events.jsonl'), { mode: PRIVATE_FILE_MODE });
    const { manifest } = await exportAudit(
      (async function* () {
        yield* events;
      })(),
      out,
      { format: 'jsonl', filter: { requestId }, exportId: uuidv7(), exportedAt: createdAt, exportedBy: `cli:${operator}`, file: 'events.jsonl' },
      signer,
    );
    out.end();
    await finished(out);
    const eventsManifest = { name: EVENTS_MANIFEST, content: `${JSON.stringify(manifest, null, 2)}\n` };
    writeFileSync(path.join(temp, eventsManifest.name), eventsManifest.content, { mode: PRIVATE_FILE_MODE });

    const verification = { ...(await verifyForEvidence(db, events, opts, io)), versions: checkVersions(versions, events, current) };
    // Loaded only here: the card renderer is not needed by the other audit commands.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { requestCard } = require('../cards/request-card') as typeof import('../cards/request-card');
    const files = evidenceFiles({ requestId, versions, events, verification, renderCard: (r) => requestCard(r) });
    mkdirSync(path.join(temp, 'cards'), { mode: PRIVATE_DIR_MODE });
    for (const f of files) writeFileSync(path.join(temp, f.name), f.content, { mode: PRIVATE_FILE_MODE });
    // The records' manifest is listed too: it names their export and their SHA-256, so the bundle is
    // bound to the very records it was made with (not another export of the request, filtered or older).
    const bundle = signEvidence(requestId, [...files, eventsManifest], createdAt, `cli:${operator}`, signer);
    writeFileSync(path.join(temp, 'manifest.json'), `${JSON.stringify(bundle, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });

    // A folder that appeared at --out meanwhile (an empty one would be replaced by the rename) is kept.
    if (existsAt(target)) throw new AuditInputError(`${target} appeared while the evidence was written: nothing was recorded; choose another --out`);
    // Named after its record first: killed between the record and the move, it is kept, not removed.
    const named = `${temp}.${manifest.exportId}`;
    renameSync(temp, named);
    temp = named;
    await recordExportFinished(store, manifest, { time: new Date().toISOString(), via: 'evidence', data: { operator, requestId, folder: path.basename(target) } });
    renameSync(temp, target);
    const problems = !verification.chain.ok || verification.checkpoints.problems.length > 0 || !verification.events.ok || (verification.indexes?.problems.length ?? 0) > 0 || !verification.versions.ok;
    for (const p of namedVersionProblems(verification.versions.problems)) io.stderr.write(`NOT BACKED BY THE AUDIT CHAIN: ${p}.\n`);
    io.stderr.write(
      `Evidence for ${requestId}: ${plural(events.length, 'audit record')}, ${plural(versions.length, 'card version')}, written to ${target}.\n` +
        (problems ? 'WARNING: verification found problems; see verification.json.\n' : 'Verification: the audit chain and this request\'s records are intact.\n'),
    );
    return problems ? 2 : 0;
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  } finally {
    await store.close();
  }
}

async function verifyForEvidence(db: AuditDatabase, events: AuditRecord[], opts: EvidenceOptions, io: AuditCliIo): Promise<EvidenceVerification> {
  const chain = await db.verify();
  const { result } = await checkCheckpoints(db, chain, { ...(opts.publicKey ? { publicKey: opts.publicKey } : {}), dataDir: db.dataDir }, io);
  const chainPart = {
    ok: chain.ok,
    count: chain.count,
    lastSeq: chain.lastSeq,
    headHash: chain.headHash,
    ...(chain.problem ? { problem: chain.problem.message } : {}),
  };
  return {
    chain: chainPart,
    checkpoints: {
      checked: result.checked,
      ...(result.latest ? { latestSeq: result.latest.checkpoint.seq } : {}),
      problems: result.problems.map((p) => p.message),
    },
    events: checkEvents(events, chainPart, auditRecordHash),
    indexes: { problems: chain.indexProblems },
  };
}
