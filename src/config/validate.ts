/**
 * Checking the YAML text against the config schema, and reporting every problem with its file, line
 * and key: the line lookup turns a key path back into where it is written.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { configSchema } from './schema';
import type { RawConfig } from './types';

export interface ConfigProblem {
  /** Dotted path, e.g. commands[0].policy.approvals. */
  key: string;
  line?: number;
  problem: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid config ${file}:\n` +
        problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ''}: ${p.key || '(top level)'}: ${p.problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** The line a key path is written on (its nearest written ancestor's, when it is not written). */
export type Locate = (path: (string | number)[]) => number | undefined;

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validateSchema = ajv.compile(configSchema);

/** The config as written, once it is YAML and passes the schema; otherwise a ConfigError naming every problem. */
export function validateConfigText(text: string, file: string): { input: RawConfig; locate: Locate } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ key: '', line: lines.linePos(e.pos[0]).line, problem: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // Well-formed YAML can still fail to resolve: an alias before its anchor, too many aliases.
    throw new ConfigError(file, [{ key: '', problem: `YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  const locate = (pathParts: (string | number)[]) => lineOf(doc, lines, pathParts);
  if (!validateSchema(raw)) {
    throw new ConfigError(file, (validateSchema.errors ?? []).map((e) => schemaProblem(e, locate)));
  }
  return { input: raw as RawConfig, locate };
}

function schemaProblem(e: ErrorObject, locate: (p: (string | number)[]) => number | undefined): ConfigProblem {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return { key: dotted([...parts, extra]), line: locate([...parts, extra]) ?? locate(parts), problem: 'unknown key (check the spelling against docs/configuration.md)' };
  }
  if (e.keyword === 'enum') problem = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return { key: dotted([...parts, missing]), line: locate(parts), problem: 'is required' };
  }
  if (e.keyword === 'pattern' && parts.includes('tenants')) problem = 'must be a tenant id (a GUID)';
  if (e.keyword === 'pattern' && parts[0] === 'roles') problem = 'must be an Entra object id (a GUID)';
  return { key: dotted(parts), line: locate(parts), problem };
}

export function dotted(parts: (string | number)[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function lineOf(doc: Document, lines: LineCounter, parts: (string | number)[]): number | undefined {
  for (let n = parts.length; n >= 0; n--) {
    const sub = parts.slice(0, n);
    // For a map entry, point at its key (a block value would start on the next line).
    if (n > 0 && typeof sub[n - 1] === 'string') {
      const parent = doc.getIn(sub.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === sub[n - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) return lines.linePos(range[0]).line;
      }
    }
    const node = doc.getIn(sub, true) as { range?: [number, number, number] } | undefined;
    if (node && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
