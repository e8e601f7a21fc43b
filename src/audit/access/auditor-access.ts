/**
 * Auditors reach the audit trail without an engineer: from Teams (`audit export <from> <to>`, which
 * answers with a 15-minute, single-use, signed download link) and over HTTP with an Entra ID token.
 * Every export is recorded with its signed manifest, and every refused attempt with its reason.
 * One export streamed and recorded: export-delivery.ts. Framework-free: src/http/audit-routes.ts
 * turns its answers into HTTP responses, src/teams/audit-command.ts the Teams command's into a reply.
 */
import type { Logger } from '../../log/context';
import type { Clock } from '../../app/ports';
import type { AuditStore, RefusalGate } from '../ports';
import { neutralise } from '../../domain/audit';
import type { AuditEventDraft } from '../../domain/audit';
import { repeatedText, type RepeatedRefusals } from '../../domain/repeated-refusals';
import { rolesText, type AccessPolicy } from '../../domain/policy';
import type { Actor, Source } from '../../domain/request';
import { zonedText, zoneOrUtc } from '../../domain/delegation-time';
import { bearerChecker } from './bearer';
import type { AuditHttpConfig, BearerCheck } from './bearer';
import type { ExportChannel } from './export';
import { namesRequest, parseApiExport, parseTeamsExport, unknownRequestMessage } from './export-request';
import type { RequestNames } from './export-request';
import { checkLinkToken, issueDownloadLink, linkIdFor, type LinkTokenCheck } from './links';
import { DuplicateDownloadLinkError } from '../ports';
import type { AuditSigner } from './signing';
import { ExportSlots } from './export-slots';
import { exportDelivery, type ExportDelivery } from './export-delivery';

/** What an HTTP caller looks like from here (never trusted for identity). */
export interface Caller {
  address?: string;
  userAgent?: string;
}

/** What an audit route answers: a JSON body with its status, or an export to stream. */
export type AuditHttpAnswer = { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> } | ExportDelivery;

/** Exports one instance runs at once when nothing says otherwise (COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE). */
const DEFAULT_EXPORTS_AT_ONCE = 2;

/** How long a caller refused for too many exports at once is asked to wait (Retry-After, seconds). */
const EXPORT_BUSY_RETRY_SECONDS = 30;

/** How long after its link was issued a download's manifest is served (the link itself works 15 minutes). */
const MANIFEST_LIFETIME_MS = 24 * 3600 * 1000;

export interface AuditorAccessDeps {
  /** With the requests: an API export by a request id nothing names is refused, not run empty. */
  store: AuditStore & RequestNames;
  signer: AuditSigner;
  clock: Clock;
  log: Logger;
  access: AccessPolicy;
  auditorRoles: string[];
  http?: AuditHttpConfig;
  /** The bot's public base URL, known once it listens. */
  publicUrl(): string;
  /**
   * The budget for refusals of callers nobody authenticated (a download link or API call that does
   * not check out), one per channel: recorded one by one up to it, counted past it, and the count
   * recorded through `summarise`. Without it every refusal is recorded.
   */
  refusalGate?(summarise: (repeated: RepeatedRefusals) => Promise<void>): RefusalGate;
  /**
   * How many download-link and HTTP API exports this instance runs at once (each reads the whole
   * log): one asked for past it is answered 429 and recorded. Default DEFAULT_EXPORTS_AT_ONCE.
   */
  exportsAtOnce?: number;
}

function json(status: number, body: unknown, headers?: Record<string, string>): AuditHttpAnswer {
  return { kind: 'json', status, body, ...(headers ? { headers } : {}) };
}

function callerData(caller: Caller): Record<string, string> {
  return {
    ...(caller.address ? { remoteAddress: caller.address.slice(0, 100) } : {}),
    ...(caller.userAgent ? { userAgent: caller.userAgent.slice(0, 200) } : {}),
  };
}

export class AuditorAccess {
  private readonly checkBearer?: (authorization: string | undefined) => Promise<BearerCheck>;

  /** Per channel, the budget of refusals of callers nobody authenticated (made on first use). */
  private readonly gates = new Map<ExportChannel, RefusalGate>();

  /** The exports running now, at most `exportsAtOnce`. */
  private readonly slots: ExportSlots;

  constructor(private readonly deps: AuditorAccessDeps) {
    this.slots = new ExportSlots(deps.exportsAtOnce ?? DEFAULT_EXPORTS_AT_ONCE);
    if (deps.http) this.checkBearer = bearerChecker(deps.http, (t) => deps.access.tenantAllowed(t), () => deps.clock.now());
  }

  /** At a stop: the refusals counted but not yet recorded are recorded. */
  async flushRefusals(): Promise<void> {
    await Promise.all([...this.gates.values()].map((gate) => gate.flush()));
  }

  private gate(via: ExportChannel): RefusalGate | undefined {
    const make = this.deps.refusalGate;
    if (!make) return undefined;
    let gate = this.gates.get(via);
    if (!gate) {
      gate = make(async (repeated) => {
        const event: AuditEventDraft = neutralise({
          type: 'audit.export_refused' as const,
          time: this.deps.clock.now().toISOString(),
          outcome: { result: 'refused' as const, reason: 'repeated', detail: `Audit export refused: ${repeatedText(repeated)}` },
          data: { via, repeated },
        });
        await this.deps.store.audit.append([event]);
      });
      this.gates.set(via, gate);
    }
    return gate;
  }

  // ---- Teams ------------------------------------------------------------------------------------

  /**
   * `audit ...` from Teams: the reply to send. `links`: the text holds markdown links Countersign
   * made (the download and its manifest), to be shown as links; any other reply is plain text.
   * `messageKey`: the typed message's key (its conversation and activity id), when Teams gave one:
   * the link's id is derived from it, so the same message sent again (Teams does, after a turn of
   * more than about 15 s, to this instance or another) meets the first's link instead of getting
   * another, and nothing more is recorded.
   */
  async teamsCommand(actor: Actor, source: Source, args: readonly string[], messageKey?: string, timeZone?: string): Promise<{ text: string; links?: true }> {
    const { deps } = this;
    // The reply names its times in the zone Teams sent with the message, the exact UTC instant beside
    // it (docs/approvers.md): the dates typed are read in UTC, and an auditor elsewhere sees which of
    // their hours that is. Without a zone (or in UTC) the exact instant alone, to the millisecond.
    const zone = zoneOrUtc(timeZone);
    const at = (iso: string | undefined) => (iso === undefined ? '(none)' : zone === 'UTC' ? iso : zonedText(iso, zone));
    const linkId = messageKey ? linkIdFor(messageKey) : undefined;
    const again = linkId ? await this.issuedBefore(linkId, at) : undefined;
    if (again) return again;
    const said = `audit ${args.join(' ')}`.slice(0, 200);
    const refuse = async (reason: string, message: string) => {
      await this.refused({ via: 'teams', reason, detail: message, actor, source, data: { command: said } });
      return { text: message };
    };
    // Outside a personal chat the answer is the same for everyone: who holds which role is nobody else's business here.
    if (source.conversationType !== 'personal') {
      return refuse('not-personal-chat', 'Audit exports are done in a personal chat with Countersign.');
    }
    if (!deps.access.isApproverFor(deps.auditorRoles, actor)) {
      const roles = deps.auditorRoles.length ? `it needs ${rolesText(deps.auditorRoles)}` : 'no role may: audit.auditorRoles is empty in the config';
      return refuse('not-an-auditor', `Only auditors can export the audit trail (${roles}). This attempt was recorded.`);
    }
    const ask = parseTeamsExport(args);
    if (!ask.ok) return refuse('invalid-arguments', ask.message);
    const now = deps.clock.now();
    const { token, link } = issueDownloadLink({ format: ask.format, filter: ask.filter, requestedBy: actor }, now, deps.signer, linkId);
    try {
      await deps.store.auditAccess.saveDownloadLink(link, [
        neutralise({
          type: 'audit.export_link_issued' as const,
          time: now.toISOString(),
          actor,
          source,
          outcome: { result: 'ok' as const, detail: `${ask.format} export of ${ask.filter.from} to ${ask.filter.to}, link valid until ${link.expiresAt}` },
          data: { linkId: link.linkId, format: ask.format, filter: ask.filter, expiresAt: link.expiresAt },
        }),
      ]);
    } catch (err) {
      // The same message on another instance at the same moment: its link was saved first.
      const first = linkId && err instanceof DuplicateDownloadLinkError ? await this.issuedBefore(linkId, at) : undefined;
      if (first) return first;
      throw err;
    }
    const url = `${deps.publicUrl()}/api/audit/download/${token}`;
    // Markdown links: Teams renders messages as markdown, and a bare URL's underscores could be read as emphasis.
    // Nothing in this text is someone's own words (the format and times were checked above).
    return {
      text: [
        `Your audit export (${ask.format.toUpperCase()}, records from ${at(ask.filter.from)} (included) until ${at(ask.filter.to)} (not included)) is ready: [download it](${url}).`,
        `The link works once, until ${at(link.expiresAt)} (15 minutes). After the download, its signed manifest is [here](${url}/manifest), for 24 hours.`,
        `Check both offline with the audit public key, [here](${deps.publicUrl()}/api/audit/public-key) (key id ${deps.signer.keyId}): countersign audit verify --file <export> --manifest <manifest> --public-key <key>.`,
      ].join('\n\n'),
      links: true,
    };
  }

  /**
   * The answer to an `audit export` message sent again: the link its first sending got, if it got
   * one. Its secret is not kept (only its hash), so it cannot be shown again: a new message gets a
   * new link.
   */
  private async issuedBefore(linkId: string, at: (iso: string | undefined) => string): Promise<{ text: string } | undefined> {
    const link = await this.deps.store.auditAccess.getDownloadLinkById(linkId);
    if (!link) return undefined;
    const state = link.usedAt ? `it was used at ${at(link.usedAt)}` : `it works once, until ${at(link.expiresAt)}`;
    return {
      text:
        `This message already got a download link for an audit export (${link.format.toUpperCase()}, records from ${at(link.filter.from)} (included) until ${at(link.filter.to)} (not included); link ${link.linkId}): ${state}. ` +
        'A link is shown only once, so it cannot be shown again; nothing more was issued. If you do not have it, type the command again for a new link: audit export <from> <to>.',
    };
  }

  // ---- download links ---------------------------------------------------------------------------

  async download(token: string, caller: Caller): Promise<AuditHttpAnswer> {
    const { deps } = this;
    const now = deps.clock.now();
    const check = checkLinkToken(token, deps.signer, now);
    if (!check.ok && check.reason === 'link-invalid') {
      await this.refused({ via: 'teams-link', reason: 'link-invalid', detail: check.detail, data: callerData(caller) });
      return json(404, { error: 'There is no such download link.' });
    }
    if (!check.ok) {
      const link = await deps.store.auditAccess.getDownloadLink(check.tokenHash);
      await this.refused({ via: 'teams-link', reason: 'link-expired', detail: `the link expired at ${check.expiresAt}`, data: { linkId: link?.linkId ?? check.linkId, ...(link ? { linkRequestedBy: link.requestedBy } : {}), ...callerData(caller) } });
      return json(410, { error: `This download link expired at ${check.expiresAt}. Ask for a new one in a personal chat with Countersign: audit export <from> <to>.` });
    }
    // A slot before the claim: a link refused for being one too many is not used up.
    const release = this.slots.take();
    if (!release) {
      const link = await deps.store.auditAccess.getDownloadLink(check.tokenHash);
      return this.busy('teams-link', link?.requestedBy, { linkId: link?.linkId ?? check.linkId, ...callerData(caller) }, `The download link was not used: it works until ${check.expiresAt}.`);
    }
    try {
      const delivery = await this.claimedDownload(token, check, now, caller, release);
      if (delivery.kind !== 'export') release();
      return delivery;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A download whose link checked out, with a slot taken: the link claimed and its export, or why not. */
  private async claimedDownload(token: string, check: Extract<LinkTokenCheck, { ok: true }>, now: Date, caller: Caller, release: () => void): Promise<AuditHttpAnswer> {
    const { deps } = this;
    const claim = await deps.store.auditAccess.claimDownloadLink(check.tokenHash, now.toISOString());
    if (!claim.ok && claim.reason === 'unknown') {
      await this.refused({ via: 'teams-link', reason: 'link-invalid', detail: 'the link is signed but this Countersign never issued it', data: { linkId: check.linkId, ...callerData(caller) } });
      return json(404, { error: 'There is no such download link.' });
    }
    if (!claim.ok) {
      await this.refused({ via: 'teams-link', reason: 'link-reused', detail: `the link was already used at ${claim.usedAt}`, data: { linkId: claim.link.linkId, linkRequestedBy: claim.link.requestedBy, ...callerData(caller) } });
      // A download that broke off (or could not be recorded) has no export of its own: said, so the person knows why.
      const finished = (await deps.store.auditAccess.getDownloadLink(check.tokenHash))?.exportId !== undefined;
      const how = finished ? '' : ', and that download did not finish (it broke off, or could not be recorded)';
      return json(410, { error: `This download link was already used (at ${claim.usedAt})${how}; each link works once. Ask for a new one in Teams: audit export <from> <to>.` });
    }
    const link = claim.link;
    // The role is asked for again: a link outlives a config change that took it away (a restart).
    if (!deps.access.isApproverFor(deps.auditorRoles, link.requestedBy)) {
      const detail = `${link.requestedBy.name} (${link.requestedBy.aadObjectId}), who asked for the link, no longer holds an auditor role (${deps.auditorRoles.join(', ') || 'audit.auditorRoles is empty'})`;
      await this.refused({ via: 'teams-link', reason: 'not-an-auditor', detail, data: { linkId: link.linkId, linkRequestedBy: link.requestedBy, ...callerData(caller) } });
      return json(403, { error: 'The person who asked for this download link no longer holds an auditor role, so it no longer works. This attempt was recorded.' });
    }
    return exportDelivery(this.deps, {
      format: link.format,
      filter: link.filter,
      actor: link.requestedBy,
      via: 'teams-link',
      manifestUrl: () => `${deps.publicUrl()}/api/audit/download/${token}/manifest`,
      tokenHash: link.tokenHash,
      data: { linkId: link.linkId, ...callerData(caller) },
      release,
    });
  }

  /**
   * The manifest of a link's export: once the download finished, until MANIFEST_LIFETIME_MS after
   * the link was issued, and only while the link's holder still holds an auditor role. The link is
   * a bearer URL (anyone holding it reads the manifest, which names who exported what), so it does
   * not stay readable for good; the export's `audit.exported` record keeps the manifest after that.
   */
  async downloadManifest(token: string, caller: Caller = {}): Promise<AuditHttpAnswer> {
    const { deps } = this;
    // Checked as at the epoch: the manifest outlives the link's 15 minutes (its own bound is below).
    const check = checkLinkToken(token, deps.signer, new Date(0));
    if (!check.ok) return json(404, { error: 'There is no such download link.' });
    const link = await deps.store.auditAccess.getDownloadLink(check.tokenHash);
    if (!link) return json(404, { error: 'There is no such download link.' });
    const refusedData = { linkId: link.linkId, linkRequestedBy: link.requestedBy, ...callerData(caller) };
    const until = new Date(Date.parse(link.createdAt) + MANIFEST_LIFETIME_MS).toISOString();
    if (deps.clock.now().getTime() >= Date.parse(until)) {
      await this.refused({ via: 'teams-link', reason: 'link-expired', detail: `the manifest of the link's download was asked for after ${until}, 24 hours after the link was issued`, data: refusedData });
      return json(410, { error: `This download's manifest was served until ${until} (24 hours after its link was issued). Its audit.exported record keeps it: an auditor's export of the log holds that record.` });
    }
    // The role is asked for again, as at the download: the manifest names who exported what.
    if (!deps.access.isApproverFor(deps.auditorRoles, link.requestedBy)) {
      const detail = `the manifest of the link's download was asked for, and ${link.requestedBy.name} (${link.requestedBy.aadObjectId}), who asked for the link, no longer holds an auditor role (${deps.auditorRoles.join(', ') || 'audit.auditorRoles is empty'})`;
      await this.refused({ via: 'teams-link', reason: 'not-an-auditor', detail, data: refusedData });
      return json(403, { error: 'The person who asked for this download link no longer holds an auditor role, so its manifest is no longer served. This attempt was recorded.' });
    }
    if (!link.usedAt) return json(409, { error: 'Download the export first: its manifest describes the bytes that were sent.' });
    const manifest = link.exportId ? await deps.store.auditAccess.getExportManifest(link.exportId) : undefined;
    if (!manifest) return json(409, { error: 'This download is still running, or it broke off; there is no manifest for it.' });
    return json(200, manifest);
  }

  // ---- HTTP API ---------------------------------------------------------------------------------

  async apiExport(authorization: string | undefined, query: Record<string, unknown>, caller: Caller): Promise<AuditHttpAnswer> {
    const who = await this.authenticate(authorization, caller);
    if ('kind' in who) return who;
    const ask = parseApiExport(query);
    // A request id nothing names (a typo) would make an empty export, signed and recorded: refused as the CLI's --request is.
    const unknown = ask.ok && ask.filter.requestId !== undefined && !(await namesRequest(this.deps.store, ask.filter.requestId));
    if (!ask.ok || unknown) {
      const message = ask.ok ? unknownRequestMessage(ask.filter.requestId!) : ask.message;
      await this.refused({ via: 'http', reason: 'invalid-arguments', detail: message, actor: who.actor, data: callerData(caller) });
      return json(400, { error: message });
    }
    const data = { ...(who.appId ? { appId: who.appId } : {}), ...callerData(caller) };
    const release = this.slots.take();
    if (!release) return this.busy('http', who.actor, data, 'Nothing was exported.');
    return exportDelivery(this.deps, {
      format: ask.format,
      filter: ask.filter,
      actor: who.actor,
      via: 'http',
      manifestUrl: (exportId) => `${this.deps.publicUrl()}/api/audit/exports/${exportId}/manifest`,
      data,
      release,
    });
  }

  async apiManifest(authorization: string | undefined, exportId: string, caller: Caller): Promise<AuditHttpAnswer> {
    const who = await this.authenticate(authorization, caller);
    if ('kind' in who) return who;
    const manifest = /^[0-9a-f-]{36}$/.test(exportId) ? await this.deps.store.auditAccess.getExportManifest(exportId) : undefined;
    return manifest ? json(200, manifest) : json(404, { error: `There is no export ${exportId.slice(0, 40)}.` });
  }

  private async authenticate(authorization: string | undefined, caller: Caller): Promise<AuditHttpAnswer | { actor: Actor; appId?: string }> {
    if (!this.checkBearer) return json(404, { error: 'The audit export API is not enabled on this Countersign: configure audit.http.' });
    const who = await this.checkBearer(authorization);
    if (who.ok) return who;
    // A valid token without the auditor role (or of a tenant not served) names its caller, but any
    // user or app registration of the issuer's tenant can get one for this audience: such refusals
    // go through the budget as those of callers without a token do.
    await this.refused({ via: 'http', reason: who.reason, detail: who.detail, ...(who.actor ? { actor: who.actor } : {}), data: callerData(caller), budgeted: true });
    // The detail can quote the token's own header (jose names an unknown crit parameter): a header
    // value holds only printable ASCII, or Node refuses to send it and the caller got a 500.
    const challenge = who.status === 401 ? { 'www-authenticate': `Bearer error="invalid_token", error_description="${who.detail.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '?')}"` } : undefined;
    return json(who.status, { error: who.status === 401 ? `Not authenticated: ${who.detail}.` : `Not allowed: ${who.detail}.` }, challenge);
  }

  /**
   * An export refused because this instance already runs as many as it may at once: 429 with
   * Retry-After, and recorded as other refusals are (within the budget: a script in a loop asks for
   * many). `after`: what became of the ask (the link not used up, nothing exported).
   */
  private async busy(via: ExportChannel, actor: Actor | undefined, data: Record<string, unknown>, after: string): Promise<AuditHttpAnswer> {
    const { limit } = this.slots;
    const detail = `this instance already runs ${limit} audit export(s) at once, the most it runs (COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE)`;
    await this.refused({ via, reason: 'too-many-exports', detail, ...(actor ? { actor } : {}), data, budgeted: true });
    const error = `Too many audit exports at once: Countersign already runs ${limit}, the most it runs at a time. ${after} Try again in ${EXPORT_BUSY_RETRY_SECONDS} seconds, once one has finished.`;
    return json(429, { error }, { 'retry-after': String(EXPORT_BUSY_RETRY_SECONDS) });
  }

  /** `budgeted`: refused before the caller was let in (whatever its token named), so within the budget. */
  private async refused(r: { via: ExportChannel | 'teams'; reason: string; detail: string; actor?: Actor; source?: Source; data?: Record<string, unknown>; budgeted?: true }): Promise<void> {
    this.deps.log.warn({ via: r.via, reason: r.reason, by: r.actor?.aadObjectId }, 'audit export refused');
    // A caller nobody authenticated (a link, an API call without a valid token), or one the API does not let in: within the budget.
    const address = typeof r.data?.remoteAddress === 'string' ? r.data.remoteAddress : undefined;
    if ((!r.actor || r.budgeted) && r.via !== 'teams' && this.gate(r.via)?.admit(r.reason, address) === false) return;
    const event: AuditEventDraft = neutralise({
      type: 'audit.export_refused' as const,
      time: this.deps.clock.now().toISOString(),
      ...(r.actor ? { actor: r.actor } : {}),
      ...(r.source ? { source: r.source } : {}),
      outcome: { result: 'refused' as const, reason: r.reason, detail: r.detail.slice(0, 500) },
      data: { via: r.via, ...(r.data ?? {}) },
    });
    await this.deps.store.audit.append([event]);
  }
}
