/**
 * The evidence bundle of one request: who asked, who approved, what exactly ran, what happened,
 * and the proof that the record is intact, as files an auditor can read and check. The request's
 * audit records (events.jsonl, with its own signed manifest) are written by the caller; this
 * module builds the rest from the stored request versions and those records.
 */
import { createHash } from 'node:crypto';
import { neutralise, type AuditRecord } from '../../domain/audit';
import { canonicalJson, sha256Hex } from '../../domain/canonical';
import { approvalHistory, notBeforeOfVersions, unbackedVersion, wholeRequestRefusals, type ApprovalFate, type GivenApproval } from '../../domain/lifecycle';
import { whoMustApprove } from '../../domain/policy-text';
import type { ApprovalRequest } from '../../domain/request';
import { repeatedOf } from '../../domain/repeated-refusals';
import { inertLine } from '../../domain/text-safety';
import type { AuditSigner, AuditVerifier } from './signing';

export interface EvidenceFile {
  name: string;
  content: string;
}

export interface EvidenceInput {
  requestId: string;
  /** Every stored version, oldest first. */
  versions: ApprovalRequest[];
  /** The request's audit records, in seq order. */
  events: AuditRecord[];
  /** The result of verifying the database the records come from (chain and checkpoints). */
  verification: EvidenceVerification;
  /** Renders the approval card of one version, exactly as Teams showed it. */
  renderCard(request: ApprovalRequest): object;
}

export interface EvidenceVerification {
  chain: { ok: boolean; count: number; lastSeq: number; headHash: string; problem?: string };
  checkpoints: { checked: number; latestSeq?: number; problems: string[] };
  /** The request's own records: each hashes to its hash and lies in the verified part of the chain. */
  events: { count: number; ok: boolean; problems: string[] };
  /**
   * The audit log's indexes that may leave records out of reads through them (`audit verify`'s
   * `AUDIT LOG DAMAGED (index)`): the bundle's records are read from the log itself all the same.
   * Absent from bundles made by a Countersign before round 11 of review (2026-12-06).
   */
  indexes?: { problems: string[] };
  /**
   * The stored versions of the request (versions.jsonl, cards/), each judged against its audit records:
   * one the chain does not back was added to the database by other means, and is named here with why.
   * Absent from bundles made by a Countersign before 2026-12-06.
   */
  versions?: { count: number; ok: boolean; problems: string[] };
}

export interface EvidenceManifest {
  evidenceVersion: 1;
  requestId: string;
  createdAt: string;
  createdBy: string;
  /** SHA-256 of each file of the bundle (this manifest aside). */
  files: Record<string, string>;
  keyId: string;
  algorithm: 'Ed25519';
  signature: string;
}

/**
 * A request as handed to an auditor: the SDK's poller state and the signed query of the poll URL
 * are operational secrets of the execution, not evidence.
 */
function forEvidence(r: ApprovalRequest): ApprovalRequest {
  if (!r.execution) return r;
  const { resumeState: _state, pollUrl, ...ref } = r.execution.ref;
  return { ...r, execution: { ...r.execution, ref: { ...ref, ...(pollUrl ? { pollUrl: pollUrl.split('?')[0] } : {}) } } };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The ARM identifiers of the execution: from the request and from every execution record. */
function armIds(latest: ApprovalRequest | undefined, events: AuditRecord[]) {
  const operationIds = new Set<string>();
  const correlationIds = new Set<string>();
  for (const e of events) {
    for (const id of e.execution?.operationIds ?? []) operationIds.add(id);
    if (e.execution?.correlationId) correlationIds.add(e.execution.correlationId);
  }
  const ref = latest?.execution?.ref;
  if (ref?.correlationId) correlationIds.add(ref.correlationId);
  return {
    correlationIds: [...correlationIds],
    resourceIds: ref?.resourceIds ?? [],
    operationIds: [...operationIds],
    ...(ref?.pollUrl ? { pollUrl: ref.pollUrl.split('?')[0] } : {}),
    ...(latest?.execution ? { startedAt: latest.execution.startedAt, finishedAt: latest.execution.finishedAt } : {}),
    ...(latest?.execution?.error ? { error: latest.execution.error } : {}),
  };
}

/** Checks the request's own records against their hashes and the verified chain. */
export function checkEvents(events: AuditRecord[], chain: EvidenceVerification['chain'], hashOf: (r: AuditRecord) => string): EvidenceVerification['events'] {
  const problems: string[] = [];
  for (const e of events) {
    if (hashOf(e) !== e.hash) problems.push(`record ${e.seq} (${e.type}) does not match its hash`);
    else if (!chain.ok && e.seq > chain.lastSeq) problems.push(`record ${e.seq} (${e.type}) lies past where the chain breaks (record ${chain.lastSeq + 1})`);
  }
  return { count: events.length, ok: problems.length === 0, problems };
}

/**
 * Checks each stored version of the request (oldest first) against the request's audit records (seq
 * order): a version the chain does not back is named with what it claims that the records do not hold.
 */
/** How many stored versions not backed SUMMARY.md and `audit evidence` name; verification.json holds every one. */
const NAMED_VERSION_PROBLEMS = 20;

/**
 * The problems of the stored versions as SUMMARY.md and `audit evidence` name them: the first
 * NAMED_VERSION_PROBLEMS, then how many more verification.json holds (a request someone gave
 * thousands of versions in the database would otherwise give a summary of megabytes).
 */
export function namedVersionProblems(problems: readonly string[]): string[] {
  if (problems.length <= NAMED_VERSION_PROBLEMS) return [...problems];
  return [...problems.slice(0, NAMED_VERSION_PROBLEMS), `${problems.length - NAMED_VERSION_PROBLEMS} more version(s) not backed by the audit chain, each named in verification.json`];
}

export function checkVersions(versions: readonly ApprovalRequest[], events: readonly AuditRecord[], row?: ApprovalRequest): NonNullable<EvidenceVerification['versions']> {
  const problems: string[] = [];
  const notBefore = notBeforeOfVersions(versions);
  for (const v of versions) {
    const why = unbackedVersion(v, events, notBefore(v));
    if (why) problems.push(inertLine(`version ${String(v.version).slice(0, 40)} (${String(v.state).slice(0, 40)}) is not backed by the audit chain: ${why}; it was written into the database by other means`));
  }
  // The request's row (what the bot reads before it runs it), judged as \`audit verify\` judges it: an
  // edited row whose saved versions are intact would otherwise leave the bundle saying "intact".
  const rowWhy = row ? unbackedVersion(row, events, notBefore(row)) : undefined;
  if (row && rowWhy) problems.push(inertLine(`the request's row (at version ${String(row.version).slice(0, 40)}, ${String(row.state).slice(0, 40)}) is not backed by the audit chain: ${rowWhy}; it was written into the database by other means`));
  return { count: versions.length, ok: problems.length === 0, problems };
}

/**
 * A stored version's number or state as part of a file name: the row is the database's, and one
 * edited there to hold "/../.." would have the card written outside the bundle, wherever the
 * person making it may write. Anything but letters, digits, "_" and "-" is written as "_".
 */
function namePart(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The card of a stored version, or, for one Countersign cannot draw (a version edited in the database
 * into a state or shape it never writes), a note saying so in its place: the rest of the bundle is
 * what such a request's evidence is wanted for.
 */
function cardOf(input: EvidenceInput, v: ApprovalRequest): unknown {
  try {
    return input.renderCard(v);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
    return { note: `Countersign could not draw the card of version ${String(v.version).slice(0, 40)} (state ${JSON.stringify(String(v.state).slice(0, 40))}): ${why}. Countersign never stores a version it cannot draw, so this one was written into the database by other means; versions.jsonl holds it as stored.` };
  }
}

export function evidenceFiles(input: EvidenceInput): EvidenceFile[] {
  const versions = input.versions.map(forEvidence);
  const latest = versions[versions.length - 1];
  const files: EvidenceFile[] = [];
  if (latest) files.push({ name: 'request.json', content: json(latest) });
  files.push({ name: 'versions.jsonl', content: versions.map((v) => `${canonicalJson(v)}\n`).join('') });
  // Numbered as wide as the highest version (at least two digits): a folder listed in name order is
  // then in version order, v099 before v100, however many versions the request has.
  // (A version edited in the database into something else than a whole number widens nothing.)
  const width = Math.max(2, ...versions.map((v) => (Number.isSafeInteger(v.version) && v.version > 0 ? String(v.version).length : 0)));
  versions.forEach((v) => {
    files.push({ name: `cards/v${namePart(String(v.version).padStart(width, '0'))}-${namePart(String(v.state))}.json`, content: json(cardOf(input, v)) });
  });
  const whatIf = versions.find((v) => v.whatIf)?.whatIf;
  files.push({ name: 'what-if.json', content: json(whatIf ?? { note: 'This request had no what-if: only template deployments are previewed.' }) });
  files.push({ name: 'arm.json', content: json(armIds(latest, input.events)) });
  files.push({ name: 'verification.json', content: json(input.verification) });
  files.push({ name: 'SUMMARY.md', content: summary(input, latest) });
  return files;
}

export function signEvidence(requestId: string, files: EvidenceFile[], createdAt: string, createdBy: string, signer: AuditSigner): EvidenceManifest {
  const body = {
    evidenceVersion: 1 as const,
    requestId,
    createdAt,
    createdBy,
    files: Object.fromEntries(files.map((f) => [f.name, sha256Hex(f.content)])),
    keyId: signer.keyId,
    algorithm: 'Ed25519' as const,
  };
  return { ...body, signature: signer.sign('evidence', canonicalJson(body)) };
}

/** The name of a bundle's signed list of its files. */
export const EVIDENCE_MANIFEST = 'manifest.json';

/** The signed export manifest of a bundle's audit records, listed in the bundle's own manifest since 2026-12-06. */
export const EVENTS_MANIFEST = 'events.jsonl.manifest.json';

/** A bundle's audit records and their signed export manifest: the records are signed by that manifest, not listed. */
const EVIDENCE_RECORDS: readonly string[] = ['events.jsonl', EVENTS_MANIFEST];

/** What checking a bundle found: `problems` empty when every file is as signed. */
export interface EvidenceCheck {
  manifest: EvidenceManifest;
  files: number;
  problems: string[];
  /**
   * The bundle's manifest does not list its records' manifest (made before it did): the records are
   * then tied to the bundle only by the request they name, not to the export it was made with.
   */
  recordsUnbound: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The bundle's manifest from its text, or what is wrong with it (not a bundle's manifest: an input error, not damage). */
export function parseEvidenceManifest(text: string, from: string): EvidenceManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new Error(`${from} is not JSON: ${(err as Error).message}`);
  }
  const o = m as Partial<EvidenceManifest> | null;
  const files = o?.files;
  const fine =
    o !== null && typeof o === 'object' && o.evidenceVersion === 1 && typeof o.requestId === 'string' && typeof o.createdAt === 'string' && typeof o.createdBy === 'string' &&
    typeof o.keyId === 'string' && o.algorithm === 'Ed25519' && typeof o.signature === 'string' && files !== null && typeof files === 'object' && !Array.isArray(files) &&
    Object.values(files).every((h) => typeof h === 'string' && HEX64.test(h));
  if (!fine) throw new Error(`${from} is not an evidence bundle's manifest (evidenceVersion 1, requestId, createdAt, createdBy, files, keyId, algorithm Ed25519, signature)`);
  return o as EvidenceManifest;
}

/**
 * Checks a bundle against its manifest: the signature (with `verifier`, the audit public key), then
 * every file it lists (present, and the SHA-256 of its bytes as signed), the audit records with their
 * own manifest present (the caller checks them as an export), and no file beside them. `read` gives a file's bytes by its name in the bundle (undefined: missing;
 * text: why it was not read, a link out of the folder or a device, which follows its name in the problem);
 * `names` every file the folder holds (manifest.json aside).
 */
export function checkEvidence(manifest: EvidenceManifest, verifier: AuditVerifier, names: readonly string[], read: (name: string) => Buffer | string | undefined): EvidenceCheck {
  const problems: string[] = [];
  const { signature, ...body } = manifest;
  if (manifest.keyId !== verifier.keyId) {
    problems.push(`the manifest was signed with key ${manifest.keyId}, but the public key in use is ${verifier.keyId}: check it with that key's public half (--public-key <file>)`);
  } else if (!verifier.verify('evidence', canonicalJson(body), signature)) {
    problems.push('the manifest\'s signature does not match it: the manifest was edited');
  }
  const listed = Object.entries(manifest.files);
  for (const [name, hash] of listed) {
    const bytes = read(name);
    if (bytes === undefined) problems.push(`${name} is missing`);
    else if (typeof bytes === 'string') problems.push(`${name} ${bytes}`);
    else if (createHash('sha256').update(bytes).digest('hex') !== hash) problems.push(`${name} was changed: its SHA-256 is not the one signed`);
  }
  // The audit records are signed by their own export manifest (checked next), not listed here.
  for (const name of EVIDENCE_RECORDS) if (!names.includes(name)) problems.push(`${name} is missing`);
  for (const name of names) if (!Object.hasOwn(manifest.files, name) && !EVIDENCE_RECORDS.includes(name)) problems.push(`${name} is not one of the bundle's files (added since it was signed)`);
  return { manifest, files: listed.length, problems, recordsUnbound: !Object.hasOwn(manifest.files, EVENTS_MANIFEST) };
}

/**
 * What a bundle's verification.json records as wrong with the audit log it was made from, one line
 * each; empty when it recorded the log intact. The bundle can be intact as signed and still attest a
 * damaged log: this is how a checker says so. A file that is no verification (not JSON, another
 * shape) is named as such.
 */
export function recordedDamage(text: string): string[] {
  let v: Partial<EvidenceVerification> | null;
  try {
    v = JSON.parse(text) as Partial<EvidenceVerification> | null;
  } catch (err) {
    return [`verification.json cannot be read (${(err as Error).message}), so what it recorded is not known`];
  }
  const texts = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  if (!v || typeof v !== 'object' || typeof v.chain?.ok !== 'boolean' || typeof v.events?.ok !== 'boolean' || !Array.isArray(v.checkpoints?.problems)) {
    return ['verification.json is not a verification (chain, checkpoints and events, each with its finding), so what it recorded is not known'];
  }
  return [
    ...(v.chain.ok ? [] : [`Audit chain: DAMAGED: ${v.chain.problem ?? 'no reason recorded'}`]),
    ...texts(v.checkpoints.problems).map((p) => `Checkpoints: ${p}`),
    ...(v.events.ok ? [] : [`This request's records: ${texts(v.events.problems).join('; ') || 'not intact'}`]),
    ...texts(v.indexes?.problems).map((p) => `Index: ${p}`),
    ...namedVersionProblems(texts(v.versions?.problems)).map((p) => `Stored versions: ${p}`),
  ];
}

/**
 * A sentence ended with a full stop, unless the text it ends with already ends one (an outcome such as
 * "… and everything in it deleted.", a reason or a comment typed with its own).
 */
function sentence(text: string): string {
  return /[.!?]\s*$/.test(text) ? text.trimEnd() : `${text}.`;
}

/** Text that renders as itself in any Markdown viewer: letters, digits, spaces and a few marks, no "://" or "www." (autolinks). */
const PLAIN = /^[\p{L}\p{N} .,;:'()/-]*$/u;

/**
 * Text people typed or Teams or Azure sent (a reason, a comment, a name, a parameter), shown in
 * SUMMARY.md as itself: on one line, and inside a code span whenever Markdown could make anything
 * of it (a link, an image, HTML, emphasis, a heading), so no one can put a live link or a fake
 * "Audit chain: intact" into signed evidence.
 */
export function literal(text: string): string {
  const line = inertLine(text);
  if (PLAIN.test(line) && !/:\/\/|www\./i.test(line)) return line;
  const longest = Math.max(0, ...[...line.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  // CommonMark strips one space from each end of a span that begins and ends with one.
  const pad = line.startsWith('`') || line.endsWith('`') || (line.startsWith(' ') && line.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

/** A person with their whole object id, as every list of SUMMARY.md names people: a display name alone can stand for two. */
function who(a: { name: string; aadObjectId: string } | undefined): string {
  return a ? `${literal(a.name)} (${literal(a.aadObjectId)})` : 'Countersign';
}

/** "Carol (id) on behalf of Bob (id) under delegation D" when a delegate decided. */
function onBehalf(d: { onBehalfOf?: { name: string; aadObjectId: string }; delegationId?: string }): string {
  return d.onBehalfOf ? ` on behalf of ${who(d.onBehalfOf)}${d.delegationId ? ` under delegation ${d.delegationId}` : ''}` : '';
}

/** What became of an approval, as its records say: held, withdrawn, or voided by a change (and superseded by a re-approval). */
function fateText(fate: ApprovalFate): string {
  if (fate.kind === 'held') return 'held';
  const again = fate.again ? `given again at ${fate.again.at} (record ${fate.again.seq})` : 'not given again';
  if (fate.kind === 'voided') {
    return fate.again
      ? `superseded by re-approval at ${fate.again.at} (record ${fate.again.seq}), after the change found at ${fate.at} (drift.detected, record ${fate.seq}) needed approving again`
      : `voided by the change found at ${fate.at} (drift.detected, record ${fate.seq}), which needed approving again; not given again`;
  }
  const why = `${fate.reason ? `, ${literal(fate.reason)}` : ''}${fate.detail ? `: ${literal(fate.detail)}` : ''}`;
  return `withdrawn at ${fate.at} (approval.revoked, record ${fate.seq}${why}); ${again}`;
}

/** One approval given, from its approval.granted record: who, for whom, when, for which hash and requirement, and its fate. */
function givenLine(a: GivenApproval): string {
  const filled = a.requirement === undefined ? '' : `, filling the requirement of ${literal(a.requirement)}`;
  const behalf = onBehalf({ ...(a.onBehalfOf ? { onBehalfOf: a.onBehalfOf } : {}), ...(a.delegationId ? { delegationId: literal(a.delegationId) } : {}) });
  return `- ${who(a.approver)}${behalf} at ${a.at}, for operation hash ${literal(a.operationHash)}${filled} (record ${a.seq}): ${fateText(a.fate)}`;
}

/**
 * Every approval the request's audit records show given, each with what became of it (the stored
 * row lists only those still counting); then any approval the row lists that no record backs.
 */
function approvalLines(r: ApprovalRequest, events: readonly AuditRecord[]): string[] {
  const history = approvalHistory(events, r.id);
  const recorded = (a: ApprovalRequest['approvals'][number]) =>
    history.some((g) => g.approver.aadObjectId.toLowerCase() === String(a?.approver?.aadObjectId).toLowerCase() && g.operationHash === a?.operationHash);
  const unbacked = (Array.isArray(r.approvals) ? r.approvals : []).filter((a) => !recorded(a));
  return [
    ...history.map(givenLine),
    ...unbacked.map((a) => `- NOT AS RECORDED: the stored request lists an approval by ${who(a.approver)}${onBehalf(a)} at ${literal(String(a.at))}, for operation hash ${literal(String(a.operationHash))}, that no approval.granted record of this request holds.`),
  ];
}

/**
 * The refusals of the request as a whole (the policy tightened, the requester lost the role, …), each
 * said once: they withdrew no approval, so the approvals listed stay held.
 */
function wholeRequestLines(r: ApprovalRequest, events: readonly AuditRecord[]): string[] {
  return wholeRequestRefusals(events, r.id).map((x) => {
    const why = `${x.reason ? `, ${literal(x.reason)}` : ''}${x.detail ? `: ${literal(x.detail)}` : ''}`;
    return sentence(`- the request as a whole was refused at ${x.at} (approval.revoked, record ${x.seq}${why}): it refused the request, not any one approval, so none was withdrawn`);
  });
}

/**
 * The risk band and environment the request's card showed approvers, as its request.created record
 * carries them (the chain vouches for the record); "not recorded" for a record written before they
 * were (2026-12-07), and no environment when the card named none.
 */
function shownToApprovers(events: readonly AuditRecord[], id: string): string {
  const data = events.find((x) => x.type === 'request.created' && x.request?.id === id)?.data;
  const risk = typeof data?.risk === 'string' ? literal(data.risk) : undefined;
  const environment = typeof data?.environment === 'string' ? literal(data.environment) : risk ? 'none named' : 'not recorded';
  return `Shown to approvers on its card: risk band ${risk ?? 'not recorded'}; environment ${environment}.`;
}

/** A break-glass use says so before anything else: run without approval, why, and how its review ended. */
function breakGlassSection(r: ApprovalRequest): string[] {
  const use = r.breakGlass;
  if (!use) return [];
  const review = use.review
    ? sentence(`${use.review.verdict === 'ratified' ? 'Ratified' : 'FLAGGED'} by ${who(use.review.by)} at ${use.review.at}${use.review.comment ? `: ${literal(use.review.comment)}` : ''}`)
    : `NOT REVIEWED (review was due by ${use.reviewDueAt}).`;
  return [
    '## BREAK-GLASS',
    `BREAK-GLASS: run by ${who(r.requester)} at ${use.usedAt} WITHOUT APPROVAL (the two-person rule's one exception). Reason: ${literal(use.reason)}`,
    `Review after the fact: ${review}${use.overdueAt ? ` The review was overdue and escalated at ${use.overdueAt}.` : ''}`,
    '',
  ];
}

/**
 * The requester and reason as the request's creation record carries them, when the stored version
 * the summary is drawn from says otherwise (a version added or edited in the database): the record
 * is what the chain vouches for.
 */
function askedAsRecorded(r: ApprovalRequest, events: readonly AuditRecord[]): string[] {
  const created = events.find((x) => x.type === 'request.created' && x.request?.id === r.id);
  if (!created) return [];
  const lines: string[] = [];
  const asked = created.actor;
  if (asked && asked.aadObjectId.toLowerCase() !== String(r.requester?.aadObjectId).toLowerCase()) lines.push(`NOT AS RECORDED: its audit records say ${who(asked)} asked for it.`);
  const reason = typeof r.reason === 'string' ? neutralise(r.reason) : undefined;
  if (reason !== created.request?.reason) lines.push(`NOT AS RECORDED: its audit records carry ${created.request?.reason === undefined ? 'no reason' : `the reason ${literal(created.request.reason)}`}.`);
  return lines;
}

/** How many refused clicks, and how many other refusals, SUMMARY.md lists one by one; events.jsonl holds them all. */
const REFUSALS_LISTED = 20;

/**
 * A section of refusals, one line each (who, when, what, why), the first REFUSALS_LISTED of them,
 * then one line per minute's `repeated` summary among them (how many it counted, when, why); nothing
 * when there were none.
 */
function refusalSection(title: string, records: readonly AuditRecord[], what: (x: AuditRecord) => string): string[] {
  if (records.length === 0) return [];
  const refused = records.filter((x) => !repeatedOf(x));
  const line = (x: AuditRecord) => `- ${who(x.actor)} at ${x.time}: ${what(x)} refused (${literal(x.outcome.reason ?? 'no reason recorded')})`;
  const more = refused.length - REFUSALS_LISTED;
  const counted = records.flatMap((x) => {
    const r = repeatedOf(x);
    if (!r) return [];
    const reasons = Object.entries(r.reasons).map(([reason, n]) => `${literal(reason)} ${Number(n)}`).join(', ');
    return [`- ${r.count} more from ${literal(String(r.from))} to ${literal(String(r.to))}, counted past the budget a minute, not recorded one by one (record ${x.seq}): ${reasons}`];
  });
  return [`## ${title}`, ...refused.slice(0, REFUSALS_LISTED).map(line), ...(more > 0 ? [`- and ${more} more: events.jsonl holds each.`] : []), ...counted, ''];
}

/**
 * The clicks on the request's cards that were refused (someone approving their own request, an
 * approver of another tenant, a stale card): an auditor asks for these, and the decisions alone do
 * not show them; those counted past a person's budget a minute, by their summary in the request's
 * trail. Nothing when there were none.
 */
function refusedClicks(events: readonly AuditRecord[]): string[] {
  return refusalSection('Refused clicks', events.filter((x) => x.type === 'click.refused'), (x) => (typeof x.data?.verb === 'string' ? literal(x.data.verb) : 'a click'));
}

/**
 * The other refusals naming the request (request.refused): a `status` of it, or a refresh of its
 * card, by someone who may not see it (`not-allowed-to-see`), which is how its id is probed.
 */
function otherRefusals(events: readonly AuditRecord[], id: string): string[] {
  const what = (x: AuditRecord) => {
    const command = x.data?.command;
    if (command === 'refresh') return 'a refresh of its card';
    return typeof command === 'string' ? literal(command) : 'a request';
  };
  return refusalSection('Other refusals about this request', events.filter((x) => x.type === 'request.refused' && x.request?.id === id), what);
}

function summary(input: EvidenceInput, r: ApprovalRequest | undefined): string {
  const lines = [`# Evidence: ${r?.breakGlass ? 'BREAK-GLASS ' : ''}request ${input.requestId}`, ''];
  if (r) {
    const approvals = approvalLines(r, input.events);
    lines.push(
      ...breakGlassSection(r),
      '## Who asked',
      sentence(`${who(r.requester)} of tenant ${r.requester.tenantId}, at ${r.createdAt}, in ${r.source.conversationType} ${literal(r.source.conversationId)}${r.reason ? `; reason: ${literal(r.reason)}` : ''}`),
      ...askedAsRecorded(r, input.events),
      shownToApprovers(input.events, r.id),
      '',
      '## Who approved',
      ...(approvals.length ? approvals : ['- nobody']),
      ...wholeRequestLines(r, input.events),
      ...(r.rejection ? [`- rejected by ${who(r.rejection.by)}${onBehalf(r.rejection)} at ${r.rejection.at}${r.rejection.comment ? `: ${literal(r.rejection.comment)}` : ''}`] : []),
      ...(r.cancellation ? [`- cancelled by ${who(r.cancellation.by)}${onBehalf(r.cancellation)} at ${r.cancellation.at}`] : []),
      `Policy: ${whoMustApprove(r.policy)} (policy version ${r.policy.version}).`,
      ...(r.escalation ? [`Escalated to ${r.escalation.role} at ${r.escalation.at}: from then on that role could decide it too.`] : []),
      ...(r.reminders ? [`Reminders sent: ${r.reminders.sent}.`] : []),
      ...(r.unreachable?.length ? [sentence(`Could not be reached: ${r.unreachable.map((u) => `${u.name === undefined ? literal(u.id) : who({ name: u.name, aadObjectId: u.id })} (${literal(u.why)})`).join(', ')}`)] : []),
      '',
      ...refusedClicks(input.events),
      ...otherRefusals(input.events, r.id),
      '## What exactly ran',
      `Command \`${r.command}\` with parameters ${literal(canonicalJson(r.parameters))}, on subscription ${literal(r.target.subscriptionId)}${r.target.resourceGroup ? `, resource group ${literal(r.target.resourceGroup)}` : ''}${r.target.resourceId ? `, resource ${literal(r.target.resourceId)}` : ''}.`,
      `Operation (${r.operation.kind}), hash ${r.operationHash}: see request.json; what-if: what-if.json.`,
      '',
      '## What happened',
      `${sentence(`Final state: ${r.state}${r.outcomeDetail ? `: ${literal(r.outcomeDetail)}` : ''}`)} ARM identifiers: arm.json.`,
      `The card at each of the ${input.versions.length} step(s): cards/.`,
      '',
    );
  } else {
    lines.push('The request itself is not stored (it was never created); only its audit records are.', '');
  }
  const v = input.verification;
  lines.push(
    '## Verification',
    sentence(`Audit chain: ${v.chain.ok ? `intact, ${v.chain.count} records, head ${v.chain.headHash}` : `DAMAGED: ${v.chain.problem}`}`),
    sentence(`Checkpoints: ${v.checkpoints.checked} checked${v.checkpoints.latestSeq ? `, the latest names record ${v.checkpoints.latestSeq}` : ''}${v.checkpoints.problems.length ? `; PROBLEMS: ${v.checkpoints.problems.join(' ')}` : ''}`),
    sentence(`This request's ${v.events.count} record(s) (events.jsonl): ${v.events.ok ? 'each intact and part of the verified chain' : `PROBLEMS: ${v.events.problems.join('; ')}`}`),
    ...(v.versions ? [v.versions.ok ? `Stored versions: each of the ${v.versions.count} is backed by this request's audit records.` : `Stored versions: NOT BACKED BY THE AUDIT CHAIN (versions.jsonl and cards/ hold them as stored; they are not this request's history): ${namedVersionProblems(v.versions.problems).map(literal).join('; ')}.`] : []),
    ...(v.indexes?.problems.length ? [sentence(`Indexes of the audit log: DAMAGED: ${v.indexes.problems.join('; ')} (this bundle's records were read from the log itself, not through them)`)] : []),
    '',
    '## Files',
    '- events.jsonl and events.jsonl.manifest.json: the audit records, verifiable with `countersign audit verify --file events.jsonl --public-key <key>`',
    '- manifest.json: the SHA-256 of every other file, signed with the audit key; check the whole bundle with `countersign audit verify --file <this folder> --public-key <key>`',
    '',
  );
  return lines.join('\n');
}
