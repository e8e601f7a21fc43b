/**
 * Download links for audit exports: `<expiry>.<secret>.<signature>`. The secret is 256 random bits;
 * the expiry (15 minutes) and the secret are signed with the audit key, so a forged or altered
 * link is refused before the database is asked. Only the SHA-256 of the secret is stored, and the
 * store marks a link used exactly once, so a second use is refused, across restarts too.
 */
import { randomBytes } from 'node:crypto';
import type { AuditFilter } from '../../domain/audit';
import { sha256Hex } from '../../domain/canonical';
import type { Actor } from '../../domain/request';
import type { DownloadLink, ExportFormat } from '../ports';
import type { AuditSigner, AuditVerifier } from './signing';

const LINK_LIFETIME_MS = 15 * 60 * 1000;

export interface IssuedLink {
  /** What goes in the URL: shown once, never stored. */
  token: string;
  link: DownloadLink;
}

function signedText(expires: number, secret: string): string {
  return `${expires}.${secret}`;
}

/**
 * The link id of the link one typed `audit export` message gets (`key`: its conversation and
 * activity id). Teams sends a message again, with the same id, when its turn took more than about
 * 15 s, to this instance or another: the second sending meets the first's link by this id (unique
 * in the store, which decides a race of the two) instead of getting another.
 */
export function linkIdFor(key: string): string {
  return sha256Hex(`countersign/audit-link/${key}`).slice(0, 16);
}

/** A new link; its id, unless given (linkIdFor), the start of its secret's hash. */
export function issueDownloadLink(
  request: { format: ExportFormat; filter: AuditFilter; requestedBy: Actor },
  now: Date,
  signer: AuditSigner,
  linkId?: string,
): IssuedLink {
  const secret = randomBytes(32).toString('base64url');
  const expires = Math.floor((now.getTime() + LINK_LIFETIME_MS) / 1000);
  const signature = Buffer.from(signer.sign('download-link', signedText(expires, secret)), 'base64').toString('base64url');
  const tokenHash = sha256Hex(secret);
  return {
    token: `${expires}.${secret}.${signature}`,
    link: {
      tokenHash,
      linkId: linkId ?? tokenHash.slice(0, 16),
      format: request.format,
      filter: request.filter,
      requestedBy: request.requestedBy,
      createdAt: now.toISOString(),
      expiresAt: new Date(expires * 1000).toISOString(),
    },
  };
}

/** `linkId`: the start of the secret's hash, the link's id unless it was issued for a message (then the stored link's is used). */
export type LinkTokenCheck =
  | { ok: true; tokenHash: string; linkId: string; expiresAt: string }
  | { ok: false; reason: 'link-invalid'; detail: string }
  | { ok: false; reason: 'link-expired'; tokenHash: string; linkId: string; expiresAt: string };

// The expiry as issued: no leading zero, which Number() would drop, making a second spelling of one link.
const TOKEN = /^([1-9]\d{0,11})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{86})$/;

/** Checks the form, the signature and the expiry of a link token (not yet whether it was used). */
export function checkLinkToken(token: string, verifier: AuditVerifier, now: Date): LinkTokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'link-invalid', detail: 'the link is not a Countersign download link' };
  const [, exp, secret, signature] = m;
  if (!verifier.verify('download-link', signedText(Number(exp), secret), signature)) {
    return { ok: false, reason: 'link-invalid', detail: 'the link was not signed by this Countersign (forged or altered)' };
  }
  const tokenHash = sha256Hex(secret);
  const facts = { tokenHash, linkId: tokenHash.slice(0, 16), expiresAt: new Date(Number(exp) * 1000).toISOString() };
  if (now.getTime() >= Number(exp) * 1000) return { ok: false, reason: 'link-expired', ...facts };
  return { ok: true, ...facts };
}
