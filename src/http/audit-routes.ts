/**
 * The audit HTTP endpoints, on the bot's restify server: the download links handed out in Teams,
 * the export API for Entra ID callers, and the public key. The decisions are AuditorAccess's; this
 * file only turns them into HTTP.
 */
import type restify from 'restify';
import type { AuditorAccess, Caller, Delivery } from '../audit/access/auditor-access';
import type { AuditVerifier } from '../audit/access/signing';
import type { Logger } from '../log/logger';

function callerOf(req: restify.Request): Caller {
  const agent = req.headers['user-agent'];
  return {
    ...(req.socket?.remoteAddress ? { address: req.socket.remoteAddress } : {}),
    ...(typeof agent === 'string' ? { userAgent: agent } : {}),
  };
}

async function deliver(res: restify.Response, delivery: Delivery, log: Logger): Promise<void> {
  if (delivery.kind === 'json') {
    for (const [name, value] of Object.entries(delivery.headers ?? {})) res.header(name, value);
    res.header('cache-control', 'no-store');
    res.send(delivery.status, delivery.body);
    return;
  }
  res.writeHead(200, delivery.headers);
  try {
    await delivery.write(res);
    res.end();
  } catch (err) {
    // Headers are out: all that is left is to cut the response short, so the client sees it failed.
    log.warn({ err: String(err) }, 'audit export response broke off');
    res.destroy();
  }
}

export function registerAuditRoutes(server: restify.Server, access: AuditorAccess, key: AuditVerifier, log: Logger): void {
  server.get('/api/audit/download/:token', async (req, res) => {
    await deliver(res, await access.download(String(req.params.token ?? ''), callerOf(req)), log);
  });
  server.get('/api/audit/download/:token/manifest', async (req, res) => {
    await deliver(res, await access.downloadManifest(String(req.params.token ?? '')), log);
  });
  server.get('/api/audit/export', async (req, res) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    await deliver(res, await access.apiExport(req.headers.authorization, query, callerOf(req)), log);
  });
  server.get('/api/audit/exports/:exportId/manifest', async (req, res) => {
    await deliver(res, await access.apiManifest(req.headers.authorization, String(req.params.exportId ?? ''), callerOf(req)), log);
  });
  server.get('/api/audit/public-key', async (_req, res) => {
    res.header('content-type', 'application/x-pem-file');
    res.header('x-countersign-key-id', key.keyId);
    res.sendRaw(200, key.publicKeyPem);
  });
}
