/**
 * The audit HTTP endpoints, on the bot's restify server: the download links handed out in Teams,
 * the export API for Entra ID callers, and the public key. The decisions are AuditorAccess's; this
 * file only turns them into HTTP.
 */
import type restify from 'restify';
import type { AuditorAccess, Caller, AuditHttpAnswer } from '../audit/access/auditor-access';
import type { AuditVerifier } from '../audit/access/signing';
import type { Logger } from '../log/context';

function callerOf(req: restify.Request): Caller {
  const agent = req.headers['user-agent'];
  return {
    ...(req.socket?.remoteAddress ? { address: req.socket.remoteAddress } : {}),
    ...(typeof agent === 'string' ? { userAgent: agent } : {}),
  };
}

async function deliver(res: restify.Response, delivery: AuditHttpAnswer, log: Logger, idleMs: number): Promise<void> {
  if (delivery.kind === 'json') {
    for (const [name, value] of Object.entries(delivery.headers ?? {})) res.header(name, value);
    res.header('cache-control', 'no-store');
    res.send(delivery.status, delivery.body);
    return;
  }
  try {
    res.writeHead(200, delivery.headers);
  } catch (err) {
    // The answer could not begin: the export is never written, and its slot is given back.
    delivery.abandon();
    log.warn({ err: String(err) }, 'audit export response could not begin');
    res.destroy();
    return;
  }
  // A reader that stops reading and stays connected would hold the export (and its handler) open for
  // good: once nothing has gone out for idleMs while bytes wait for the reader, the connection is cut,
  // and the export ends as broken off, as for a reader gone away. Nothing waiting is the export still
  // finding its records (a filter that matches few of many, a slow database): the reader is not
  // behind, and the wait starts again.
  res.setTimeout(idleMs, () => {
    if (res.writableLength === 0) {
      res.setTimeout(idleMs);
      return;
    }
    log.warn({ idleMs, waiting: res.writableLength }, 'audit export reader took nothing for too long: connection cut (COUNTERSIGN_AUDIT_EXPORT_IDLE)');
    res.destroy();
  });
  try {
    await delivery.write(res);
    res.end();
  } catch (err) {
    // Headers are out: all that is left is to cut the response short, so the client sees it failed.
    log.warn({ err: String(err) }, 'audit export response broke off');
    res.destroy();
  }
}

/**
 * What an audit route answers when the request could not be handled (the store busy or failing):
 * 503 in words, never the error's own text, which names the database, its user and the lock's holder.
 */
const COULD_NOT_ANSWER = 'Countersign could not answer this now (its database is busy or failing); try again in a minute. If a download link is then reported used, ask for a new one in Teams.';

/** How the audit routes are answered: `idleMs` (COUNTERSIGN_AUDIT_EXPORT_IDLE), and `track` around each answer, recorded end included. */
export interface AuditRouteOptions {
  idleMs: number;
  /** Called around each answer, to know at a stop what is still being answered (a download streaming). */
  track?: <T>(work: Promise<T>) => Promise<T>;
}

function answering(log: Logger, options: AuditRouteOptions, handle: (req: restify.Request) => Promise<AuditHttpAnswer>) {
  const answer = async (req: restify.Request, res: restify.Response): Promise<void> => {
    let delivery: AuditHttpAnswer;
    try {
      delivery = await handle(req);
    } catch (err) {
      log.error({ err: String(err) }, 'audit route failed: answered 503');
      delivery = { kind: 'json', status: 503, body: { error: COULD_NOT_ANSWER }, headers: { 'retry-after': '60' } };
    }
    await deliver(res, delivery, log, options.idleMs);
  };
  const { track } = options;
  // restify takes an async function (or one taking next) as a handler.
  return track ? async (req: restify.Request, res: restify.Response) => track(answer(req, res)) : answer;
}

/** The download links' routes, the export API's and the public key's. */
export function registerAuditRoutes(server: restify.Server, access: AuditorAccess, key: AuditVerifier, log: Logger, options: AuditRouteOptions): void {
  server.get('/api/audit/download/:token', answering(log, options, (req) => access.download(String(req.params.token ?? ''), callerOf(req))));
  server.get('/api/audit/download/:token/manifest', answering(log, options, (req) => access.downloadManifest(String(req.params.token ?? ''), callerOf(req))));
  server.get('/api/audit/export', answering(log, options, (req) => access.apiExport(req.headers.authorization, (req.query ?? {}) as Record<string, unknown>, callerOf(req))));
  server.get('/api/audit/exports/:exportId/manifest', answering(log, options, (req) => access.apiManifest(req.headers.authorization, String(req.params.exportId ?? ''), callerOf(req))));
  server.get('/api/audit/public-key', async (_req, res) => {
    res.header('content-type', 'application/x-pem-file');
    res.header('x-countersign-key-id', key.keyId);
    res.sendRaw(200, key.publicKeyPem);
  });
}
