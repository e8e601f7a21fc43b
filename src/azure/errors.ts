/**
 * Azure's errors in words a person can act on. ARM errors reach us in several shapes: a RestError from
 * the SDK (with or without the parsed body), a plain Error from a failed long-running operation
 * ("The long-running operation has failed. CODE. message"), a raw response body, or a network error.
 * All become an ArmError: code, a readable message, ARM's nested details flattened, the HTTP status.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import type { ArmError } from '../domain/operation';
import { withoutCredentials } from '../domain/credential-text';

/** ARM answered 404: the resource (or the operation) is not there. */
export function isNotFound(e: unknown): boolean {
  return isRestError(e) && e.statusCode === 404;
}

/** ARM's `{ error: { code, message, target, details } }`, inner part. */
export interface ArmErrorBody {
  code?: string;
  message?: string;
  target?: string;
  details?: ArmErrorBody[];
}

/** The final HTTP answer to the request that started an operation, when the SDK let us see it. */
export interface CapturedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** An ARM error raised by Countersign's own raw calls (resource actions, polling). */
export class ArmRequestError extends Error {
  constructor(readonly armError: ArmError) {
    super(`${armError.code}: ${armError.message}`);
    this.name = 'ArmRequestError';
  }

  /** A passing failure (isPassing): a read that failed so may work when tried again. */
  get transient(): boolean {
    return isPassing(this.armError);
  }
}

/**
 * A failure that says nothing lasting: ARM throttled the call (429), failed in itself (5xx), its
 * answer could not be read (a body cut short), or the connection failed (a Node.js network code, or
 * the pipeline's send error). For a read, trying again later may work. Not an abort, nor an error
 * without a status that ARM reported (a failed long-running operation's, such as an asynchronous
 * InvalidTemplate), nor one of the credential.
 */
export function isPassing(error: ArmError): boolean {
  if (isUnreadableAnswer(error)) return true;
  if (error.httpStatus !== undefined) return error.httpStatus === 429 || error.httpStatus >= 500;
  return ['NetworkError', 'REQUEST_SEND_ERROR'].includes(error.code) || /^E[A-Z_]+$/.test(error.code) || TLS_FAILURE.test(error.code);
}

/**
 * Node's codes for a TLS connection that could not be made (a certificate not yet or no longer valid
 * to this clock, one an intercepting proxy put in, a name that does not match): nothing was read, so
 * a status read of an accepted operation that fails so is not its outcome, and a send is not made.
 */
const TLS_FAILURE = /^(CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/;

/**
 * Of those, the certificate checks of the handshake, made before a byte of the request is sent. The
 * others (ERR_SSL_*, a bad record or an alert) can come at any point, the answer being read included.
 */
const CERTIFICATE_REFUSED = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|ERR_TLS_CERT_ALTNAME_INVALID$|HOSTNAME_MISMATCH$)/;

const LRO_FAILURE = /^The long-running operation has failed\. ([^.]+)\. ([\s\S]*)$/;
const AUTHORIZATION = /perform action '([^']+)' (?:over|at|on) scope '([^']+)'/i;

export function toArmError(error: unknown, captured?: CapturedResponse): ArmError {
  if (error instanceof ArmRequestError) return error.armError;
  if (error instanceof Error && error.name === 'AbortError') {
    return { code: 'Aborted', message: 'Countersign stopped waiting for Azure Resource Manager (the wait was cancelled).' };
  }
  if (isRestError(error)) {
    const status = error.statusCode;
    if (error.code === PARSE_ERROR && (status === undefined || status < 400)) {
      // ARM answered, perhaps accepting the request, but its answer could not be read.
      const answered = status === undefined ? 'Azure Resource Manager answered' : `Azure Resource Manager answered HTTP ${status}`;
      return {
        code: PARSE_ERROR,
        message: `${answered}, but its answer could not be read (${parseProblem(error.message)}): the request may have been carried out.`,
        ...(status !== undefined ? { httpStatus: status } : {}),
      };
    }
    if (status === undefined) {
      return { code: error.code ?? 'NetworkError', message: `Could not reach Azure Resource Manager: ${error.message}` };
    }
    const body = errorBodyOf(error.details) ?? (captured?.status === status ? errorBodyOf(captured.body) : undefined) ?? parseText(error.response?.bodyAsText);
    const retryAfter = error.response?.headers.get('retry-after') ?? undefined;
    return fromBody({ code: body?.code ?? error.code, message: body?.message ?? error.message, ...(body?.details ? { details: body.details } : {}) }, status, retryAfter);
  }
  if (error instanceof TypeError && /^Cannot read properties of (undefined|null)/.test(error.message)) {
    // The SDK (or a reading of its result) met an answer without the body ARM sends: an empty 200, say.
    const answered = captured ? `Azure Resource Manager answered HTTP ${captured.status}` : 'Azure Resource Manager answered';
    return { code: PARSE_ERROR, message: `${answered}, but its answer could not be read (it holds no body, or not the one Azure sends): the request may have been carried out.`, ...(captured ? { httpStatus: captured.status } : {}) };
  }
  if (error instanceof Error) {
    const lro = LRO_FAILURE.exec(error.message);
    if (lro) return fromBody({ code: lro[1], message: lro[2] }, undefined);
    return { code: 'UnexpectedError', message: error.message };
  }
  return { code: 'UnexpectedError', message: String(error) };
}

/** An ArmError from an HTTP answer Countersign read itself. */
export function armErrorFromResponse(status: number, body: unknown, retryAfter?: string): ArmError {
  const inner = errorBodyOf(body);
  return fromBody(inner ?? { code: `Http${status}`, message: `Azure Resource Manager answered HTTP ${status}.` }, status, retryAfter);
}

/** ARM's error object from a response body: `{ error: {...} }` or the inner object itself. */
export function errorBodyOf(body: unknown): ArmErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const inner = typeof record.error === 'object' && record.error !== null ? (record.error as ArmErrorBody) : (record as ArmErrorBody);
  return typeof inner.code === 'string' || typeof inner.message === 'string' ? inner : undefined;
}

/**
 * The code of an accepted operation's outcome when its status could not be read
 * (operations/status-reads.ts): indeterminate, whatever the reads answered.
 */
export const STATUS_UNREADABLE = 'OperationStatusUnreadable';

/**
 * The code of a call Countersign refused to send because it was not to ARM (clients.ts): only ever
 * a status URL an accepted operation's answer pointed elsewhere, so the operation's outcome is unknown.
 */
export const FOREIGN_ENDPOINT = 'NotAzureResourceManager';

/** Network failures that mean the request never reached ARM: nothing can have changed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** The SDK's code for an answer whose body could not be read or parsed (RestError.PARSE_ERROR). */
export const PARSE_ERROR = 'PARSE_ERROR';

/**
 * True when ARM answered but the answer could not be read: a 2xx (or 3xx) whose body was cut short or
 * mangled, or a body that broke off before its status was known. ARM may have accepted the request.
 */
export function isUnreadableAnswer(error: ArmError): boolean {
  return error.code === PARSE_ERROR && (error.httpStatus === undefined || error.httpStatus < 400);
}

/**
 * True when the outcome cannot be known, because nothing proves that ARM refused: ARM failed (5xx),
 * answered without refusing (a 2xx or 3xx, e.g. one whose body could not be read), the answer could
 * not be read, the connection broke after the request was sent, or we stopped waiting. A write may
 * have happened; only reading Azure again tells. Only a 4xx, an operation ARM reported failed, or a
 * request that never left (NOT_SENT) is determinate.
 */
export function isIndeterminate(error: ArmError): boolean {
  if (error.code === STATUS_UNREADABLE || error.code === FOREIGN_ENDPOINT || isUnreadableAnswer(error)) return true;
  if (error.httpStatus !== undefined) return error.httpStatus < 400 || error.httpStatus >= 500;
  // A certificate refused in the handshake carried nothing either; any other TLS failure may have come
  // after the request was written (a bad record while the answer was read).
  if (NOT_SENT.has(error.code) || CERTIFICATE_REFUSED.test(error.code)) return false;
  return ['Aborted', 'NetworkError', 'REQUEST_SEND_ERROR', 'UnexpectedError'].includes(error.code) || /^E[A-Z_]+$/.test(error.code) || TLS_FAILURE.test(error.code);
}

/**
 * An ArmError from ARM's error object, e.g. a failed deployment's properties.error. A SAS signature or
 * a connection string's key ARM's words quote (a nested template's address, SAS and all) is redacted:
 * the error goes on the card, into the audit log and into the logs.
 */
export function fromBody(body: ArmErrorBody, status: number | undefined, retryAfter?: string): ArmError {
  const code = body.code ?? (status ? `Http${status}` : 'UnknownError');
  const original = withoutCredentials(body.message ?? '');
  const details = flattenDetails(body.details).map(withoutCredentials);
  const withStatus = (e: ArmError): ArmError => (status !== undefined ? { ...e, httpStatus: status } : e);
  const auth = AUTHORIZATION.exec(original);
  if (auth && /Authorization/i.test(code)) {
    return withStatus({
      code,
      message:
        `Countersign's Azure identity is not allowed to perform '${auth[1]}' on '${auth[2]}'. ` +
        'Grant that action to the identity (for example in the Countersign custom role) and try again.',
      details: [original, ...details],
    });
  }
  if (status === 429 || code === 'TooManyRequests') {
    const wait = retryAfter ? ` Azure asked to wait ${retryAfter} s.` : '';
    return withStatus({
      code,
      message: `Azure Resource Manager is throttling Countersign's requests (HTTP 429) even after retries.${wait} Try again in a minute.`,
      details: [original, ...details].filter(Boolean),
    });
  }
  return withStatus({ code, message: original || code, ...(details.length ? { details } : {}) });
}

/** ARM's nested details as lines: "Code: message (target)", deeper levels indented. */
export function flattenDetails(details: ArmErrorBody[] | undefined, depth = 0): string[] {
  if (!details?.length) return [];
  return details.flatMap((d) => {
    const line = `${'  '.repeat(depth)}${d.code ?? 'Error'}: ${d.message ?? ''}${d.target ? ` (target: ${d.target})` : ''}`.trimEnd();
    return [line, ...flattenDetails(d.details, depth + 1)];
  });
}

/** One line for logs and replies: "Code: message". */
export function describeArmError(error: ArmError): string {
  return `${error.code}: ${error.message}`;
}

function parseText(text: string | null | undefined): ArmErrorBody | undefined {
  if (!text) return undefined;
  try {
    return errorBodyOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** What the SDK says went wrong reading a body, without the body it quotes. */
function parseProblem(message: string): string {
  const quoted = /^Error "([\s\S]*?)" occurred while parsing the response body/.exec(message);
  return (quoted?.[1] ?? message).slice(0, 300);
}
