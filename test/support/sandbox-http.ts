/** Raw HTTPS calls to the ARM sandbox, for tests of the wire protocol itself (status codes, headers, bodies). */
import https from 'node:https';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the wire, inspected by tests
}

export interface RawOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `Authorization: Bearer test` (default true). */
  token?: boolean;
  /** Appended as ?api-version= unless the path has a query already or this is null. */
  apiVersion?: string | null;
  /** Trust this CA (default: the sandbox's). */
  ca?: string;
}

export function armRequest(target: { url: string; caPem: string }, method: string, pathOrUrl: string, options: RawOptions = {}): Promise<RawAnswer> {
  const url = new URL(pathOrUrl, target.url);
  const apiVersion = options.apiVersion === undefined ? '2025-04-01' : options.apiVersion;
  if (apiVersion !== null && !url.searchParams.has('api-version')) url.searchParams.set('api-version', apiVersion);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: options.ca ?? target.caPem,
        agent: false,
        headers: {
          ...(options.token === false ? {} : { authorization: 'Bearer test' }),
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
          resolve({ status: res.statusCode ?? 0, headers, body: text ? jsonOrText(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The body as JSON; as the text itself when it is not JSON (the truncatedBody fault). */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
