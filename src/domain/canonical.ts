import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/*
 * Imports nothing from the domain: the audit chain, the request's approval hash and drift snapshots
 * all hash through here, so the records and operations it hashes are taken by shape, not by type.
 */

/** RFC 8785 (JSON Canonicalization Scheme) text of a value: the bytes every hash is taken over. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized as JSON');
  return text;
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The hash an approval binds to: command, parameters, target and the fully resolved operation. */
export function operationHash(input: {
  command: string;
  parameters: Record<string, string>;
  target: object;
  operation: object;
}): string {
  return sha256Hex(
    canonicalJson({ command: input.command, parameters: input.parameters, target: input.target, operation: input.operation }),
  );
}

/** The canonical bytes of an audit record, sealed or not: every field except its own hash. */
export function auditRecordBody(record: object): string {
  const { hash: _omit, ...body } = record as { hash?: string };
  return canonicalJson(body);
}

export function auditRecordHash(record: object): string {
  return sha256Hex(auditRecordBody(record));
}
