import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditRecord } from './audit';
import type { ChangeOperation, Target } from './operation';

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
  target: Target;
  operation: ChangeOperation;
}): string {
  return sha256Hex(
    canonicalJson({ command: input.command, parameters: input.parameters, target: input.target, operation: input.operation }),
  );
}

/** The canonical bytes of an audit record: every field except its own hash. */
export function auditRecordBody(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _omit, ...body } = record as AuditRecord;
  return canonicalJson(body);
}

export function auditRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  return sha256Hex(auditRecordBody(record));
}
