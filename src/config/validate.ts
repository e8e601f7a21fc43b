/**
 * Checking the YAML text against the config schema, and reporting every problem with its file, line
 * and key: the line lookup turns a key path back into where it is written.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { CLOCK_TIME_PATTERN, DURATION_PATTERN, REMINDER_POINT_PATTERN } from './schema';
import { validate as generatedValidate } from './schema-validator.generated';
import { didYouMean } from './suggest';
import type { RawConfig } from './types';

/** Records a problem with the key at a path (the line is looked up): how every builder of the config reports one. */
export type At = (key: (string | number)[], problem: string) => void;

export interface ConfigProblem {
  /** Dotted path, e.g. commands[0].policy.approvals. */
  key: string;
  line?: number;
  problem: string;
}

/**
 * The most problems one ConfigError names (and looks up the line of): a 1 MiB file of 60,000 unknown
 * keys took 157 s to check (each key's line looked up among all the others) and printed 5.7 MB.
 */
export const MAX_PROBLEMS = 100;

export class ConfigError extends Error {
  /** The problems found, the first MAX_PROBLEMS of them, then one saying how many more were not listed. */
  readonly problems: ConfigProblem[];

  constructor(
    readonly file: string,
    /** Every problem found (what another ConfigError of the same file takes in). */
    readonly found: ConfigProblem[],
  ) {
    const problems = found;
    const listed =
      problems.length > MAX_PROBLEMS
        ? [...problems.slice(0, MAX_PROBLEMS), { key: '', problem: `${(problems.length - MAX_PROBLEMS).toLocaleString('en-US')} more problem(s), not listed: fix these and check again` }]
        : problems;
    super(
      `Invalid config ${file}:\n` +
        listed.map((p) => `  ${file}${p.line ? `:${p.line}` : ''}: ${label(p)}${p.problem}`).join('\n'),
    );
    this.problems = listed;
    this.name = 'ConfigError';
  }
}

/**
 * What a problem is about before it is said: its key; for one of no key, nothing when its line places
 * it (a YAML syntax error, a byte that is not UTF-8: its line and what it says are where and what),
 * "(top level)" only for one about the whole file.
 */
function label(p: ConfigProblem): string {
  if (p.key) return `${p.key}: `;
  return p.line ? '' : '(top level): ';
}

/** The line a key path is written on (its nearest written ancestor's, when it is not written). */
export type Locate = (path: (string | number)[]) => number | undefined;

// The schema (./schema.ts) compiled ahead of time by Ajv's standalone mode
// (scripts/config-validator/generate.ts), with every error, each carrying the schema it broke (verbose):
// its keys are what a misspelt key is compared with. Compiling it here took over 100 ms of every start.
const validateSchema = generatedValidate as unknown as ValidateFunction;

/**
 * The config as written, if it is YAML (otherwise a ConfigError), with every problem the schema
 * finds: the caller goes on to check what the schema cannot, so one run reports every problem.
 */
export function validateConfigText(text: string, file: string): { input: RawConfig; locate: Locate; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  // Keys are checked for repeats below (repeatedKeys): the library's own check compares each key with
  // every one before it in its map, minutes for a 1 MiB file of one long map.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  // `%YAML 1.1` at the top switched the library to YAML 1.1 without a word: `approvals: 010` was read
  // as 8, `sensitive: no` as false, and merge keys (`<<: *shared`) merged, where the file is YAML 1.2.
  if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== '1.2') {
    const at = text.search(/^%YAML\b/m);
    throw new ConfigError(file, [{ key: '', line: at < 0 ? 1 : lines.linePos(at).line, problem: `YAML: the file asks for YAML ${doc.directives.yaml.version} (%YAML ${doc.directives.yaml.version}), which reads some values otherwise (010 as 8, no as false, <<: as a merge): a config is read as YAML 1.2; remove the %YAML line and check those values` }]);
  }
  // A warning is something the file says that would be read otherwise than written (a tag no
  // resolver knows, `ttl: !custom 30m`, is read as plain text): refused like an error.
  const faults = [...[...doc.errors, ...repeatedKeys(doc, lines)].sort((a, b) => a.pos[0] - b.pos[0]).map((e) => ({ e, what: 'YAML syntax' })), ...doc.warnings.map((e) => ({ e, what: 'YAML' }))];
  if (faults.length > 0) {
    throw new ConfigError(
      file,
      faults.map(({ e, what }) => ({ key: 'key' in e ? e.key : e.code === 'TAG_RESOLVE_FAILED' ? taggedKey(doc, e.pos) : '', line: lines.linePos(e.pos[0]).line, problem: `${what}: ${yamlFault(e.code, e.message.split('\n')[0])}` })),
    );
  }
  const marks = anchorsAndAliases(doc);
  if (marks > MAX_ANCHORS_AND_ALIASES) {
    throw new ConfigError(file, [{ key: '', problem: `YAML: the file has ${marks.toLocaleString('en-US')} anchors (&name) and aliases (*name), more than the ${MAX_ANCHORS_AND_ALIASES.toLocaleString('en-US')} a config may have (each alias is looked up among all of them): write the values out` }]);
  }
  const key = collectionKey(doc);
  if (key) {
    throw new ConfigError(file, [{ key: '', line: lines.linePos(key).line, problem: 'YAML: a key written as a list or a map ([a]: or {a: b}:, or an alias of one): every key of a config is a word; write it as one' }]);
  }
  let raw: unknown;
  try {
    // No cap on how often an anchor is used (the library's is 100: a catalog of more commands sharing
    // `approverRoles: *approvers` was refused as "a resource exhaustion attack"): what its aliases
    // expand to is bounded below instead. An alias shares its anchor's value, so this is not expanded yet.
    raw = doc.toJS({ maxAliasCount: -1 });
  } catch (err) {
    // Well-formed YAML can still fail to resolve: an alias before its anchor.
    throw new ConfigError(file, [{ key: '', problem: `YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  const aliases = aliasProblem(raw);
  if (aliases) throw new ConfigError(file, [{ key: '', problem: `YAML: ${aliases}` }]);
  const locate = (pathParts: (string | number)[]) => lineOf(doc, lines, pathParts);
  // Past the problems a ConfigError lists, a line is not looked up (each look-up goes through the key's siblings).
  const problems = validateSchema(raw) ? [] : (validateSchema.errors ?? []).map((e, i) => schemaProblem(e, i < MAX_PROBLEMS ? locate : () => undefined));
  if (validateSchema.errors) emptyWrongShapes(raw, validateSchema.errors);
  return { input: raw as RawConfig, locate, problems };
}

/**
 * Reads as an empty list or map each value the schema refused for not being one (`ids: "19:…"`
 * written for `ids: ["19:…"]`, `roles: x`, a list item `- group` where a map is expected), once its
 * problem is said: building goes through the config's lists and maps, and one written as a single
 * value threw there (`.map is not a function`), so whatever building finds elsewhere in the file
 * went unsaid. Such a config is refused anyway; nothing else is changed.
 */
function emptyWrongShapes(raw: unknown, errors: readonly ErrorObject[]): void {
  for (const e of errors) {
    const expected = e.keyword === 'type' ? (e.params as { type?: unknown }).type : undefined;
    if (expected !== 'array' && expected !== 'object') continue;
    const parts = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    let parent: unknown = raw;
    for (const part of parts) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[part] : undefined;
    if (last !== undefined && parent !== null && typeof parent === 'object' && Object.hasOwn(parent, last)) (parent as Record<string, unknown>)[last] = expected === 'array' ? [] : {};
  }
}

/** The most anchors and aliases together: the YAML library finds each alias's anchor by going through them all. */
const MAX_ANCHORS_AND_ALIASES = 10_000;

function anchorsAndAliases(doc: Document): number {
  let n = 0;
  visit(doc, { Node: (_key, node) => void ((isAlias(node) || !!(node as { anchor?: string }).anchor) && n++) });
  return n;
}

/**
 * Each key written a second time in its map, as the YAML library says it (DUPLICATE_KEY, "Map keys
 * must be unique"): two keys are the same when both are plain values read as the same property name.
 */
function repeatedKeys(doc: Document, lines: LineCounter): { pos: [number, number]; code: string; message: string; key: string }[] {
  const found: { pos: [number, number]; code: string; message: string; key: string }[] = [];
  visit(doc, {
    Map: (_key, map, path) => {
      // The first of each key: the second is named with it (which one the operator meant is theirs to say).
      const seen = new Map<string, number>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        // Compared as the property name it is read as: 1 and "1", true and "true", ~ and "" are one key.
        const name = key.value === null ? '' : String(key.value);
        const first = seen.get(name);
        if (first !== undefined) {
          const at = key.range?.[0] ?? 0;
          found.push({ pos: [at, at + 1], code: 'DUPLICATE_KEY', key: dotted([...keyPath([...path, map]), name]), message: `the key ${JSON.stringify(name)} is given twice in the same map (first on line ${lines.linePos(first).line}): keep one` });
        } else seen.set(name, key.range?.[0] ?? 0);
      }
    },
  });
  return found;
}

/** The key of the value a tag written at `pos` stands on (`ttl: !custom 30m`: the first tagged node after it), or '' when none is found. */
function taggedKey(doc: Document, pos: readonly [number, number]): string {
  let found: { at: number; key: string } | undefined;
  visit(doc, {
    Node: (_key, node, path) => {
      const at = (node as { range?: [number, number, number] }).range?.[0];
      if (!(node as { tag?: string }).tag || at === undefined || at < pos[1] || (found && found.at <= at)) return;
      found = { at, key: dotted(keyPath([...path, node])) };
    },
  });
  return found?.key ?? '';
}

/** The key path of a node from the ancestors `visit` hands over (each map entry's key, each list's index). */
function keyPath(nodes: readonly unknown[]): (string | number)[] {
  const parts: (string | number)[] = [];
  for (let i = 0; i + 1 < nodes.length; i++) {
    const node = nodes[i];
    const next = nodes[i + 1];
    if (isPair(node) && node.value === next) parts.push(isScalar(node.key) ? String(node.key.value) : '?');
    else if (isSeq(node)) parts.push(node.items.indexOf(next as never));
  }
  return parts;
}

/**
 * Where the first key that is a list or a map stands (an alias of one included), or undefined. The
 * YAML library turns such a key into text, going through every anchor of the file for each one: a
 * 1 MiB file of a few thousand anchors and tens of thousands of such keys took minutes to read.
 */
function collectionKey(doc: Document): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Pair: (_key, pair) => {
      const key = pair.key;
      if (key === null || isScalar(key)) return undefined;
      const value = isAlias(key) ? key.resolve(doc) : key;
      if (value === undefined || isScalar(value)) return undefined;
      at = (key as { range?: [number, number, number] }).range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return at;
}

/**
 * The most values the file may hold with its aliases expanded (each alias counted as the values of its
 * anchor): a 1 MiB file without aliases holds fewer than 500,000, and everything after parsing (the
 * schema, building) walks the expanded values.
 */
const MAX_EXPANDED_VALUES = 2_000_000;

/**
 * What is wrong with the values the aliases make, if anything: a value that holds itself (an alias
 * inside its own anchor's value: `roles: &r { me: *r }`), or more values than a config could need
 * (aliases of aliases, each doubling the last).
 */
function aliasProblem(root: unknown): string | undefined {
  let count = 0;
  const inside = new Set<object>();
  const walk = (value: unknown): string | undefined => {
    if (++count > MAX_EXPANDED_VALUES) {
      return `its aliases (*name) expand to more than ${MAX_EXPANDED_VALUES.toLocaleString('en-US')} values, far more than any config holds (aliases of aliases multiply): write the values out`;
    }
    if (value === null || typeof value !== 'object') return undefined;
    if (inside.has(value)) return 'an alias (*name) stands inside the value its own anchor (&name) marks, so that value would hold itself without end: alias a value from outside it';
    inside.add(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      const problem = walk(child);
      if (problem) return problem;
    }
    inside.delete(value);
    return undefined;
  };
  return walk(root);
}

/** The YAML library's words, except where they speak to a programmer: a config is one document. */
function yamlFault(code: string, message: string): string {
  if (/Maximum call stack size exceeded/.test(message)) return 'values nested too deeply to read (a config is a few levels deep)';
  if (code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document (this line starts another): a config is one document; merge them, or remove the --- line';
  return message;
}

function schemaProblem(e: ErrorObject, locate: (p: (string | number)[]) => number | undefined): ConfigProblem {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    if (extra === '<<') {
      // YAML 1.1's merge key, which YAML 1.2 (what the config is read as) no longer has: it would otherwise be told to check its spelling.
      return { key: dotted([...parts, extra]), line: locate([...parts, extra]) ?? locate(parts), problem: 'YAML merge keys (<<: *anchor) are not read: the config is YAML 1.2, which has none. Write the keys out, or give a whole value by its anchor (approverRoles: *approvers)' };
    }
    const known = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    const hint = didYouMean(extra, known) || ' (check the spelling against docs/configuration.md)';
    return { key: dotted([...parts, extra]), line: locate([...parts, extra]) ?? locate(parts), problem: `unknown key${hint}` };
  }
  if (e.keyword === 'enum') {
    // One line for one mistake: the closest allowed value, when there is one, then the list.
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
    const near = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
    problem = near ? `is not one of the allowed values: "${e.data as string}"${near} (allowed: ${allowed.join(', ')})` : `must be one of ${allowed.join(', ')}`;
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return { key: dotted([...parts, missing]), line: locate(parts), problem: 'is required' };
  }
  if ((e.keyword === 'minItems' || e.keyword === 'minProperties') && parts[0] === 'azure' && parts[1] === 'environments') {
    problem = parts.length === 2 ? 'names no environment: list subscriptions under production, staging, ..., or leave environments out' : 'lists no subscription: list at least one, or leave the environment out';
  }
  if (e.keyword === 'pattern') problem = patternProblem(parts, (e.params as { pattern: string }).pattern, e.data);
  if (e.keyword === 'type') problem = typeProblem(parts, e);
  if (e.keyword === 'minimum' || e.keyword === 'maximum') problem = rangeProblem(e);
  if (e.keyword === 'const') problem = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, got ${written(e.data)}${parts[0] === 'version' && parts.length === 1 ? ' (the config format this Countersign reads)' : ''}`;
  return { key: dotted(parts), line: locate(parts), problem };
}

/**
 * A value as the problem quotes it: JSON, except YAML's infinities and not-a-number (`.inf`, `.nan`),
 * which JSON writes as null: `approvals: .inf` was told "got null".
 */
function written(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  return JSON.stringify(value);
}

/** An example of each https URL key, as docs/configuration.md gives them. */
const HTTPS_EXAMPLES: Record<string, string> = {
  endpoint: 'https://management.azure.com (Azure Resource Manager of the cloud the subscription is in)',
  issuer: 'https://login.microsoftonline.com/<tenant-id>/v2.0',
  jwksUri: 'https://login.microsoftonline.com/<tenant-id>/discovery/v2.0/keys',
};

/** A value of the wrong JSON type, told with what it should look like (a duration as a duration). */
/** A JSON Schema type in words. */
const TYPE_WORDS: Record<string, string> = { string: 'text', number: 'a number', integer: 'a whole number', boolean: 'true or false', array: 'a list', object: 'a mapping of keys to values' };

function typeProblem(parts: (string | number)[], e: ErrorObject): string {
  const schema = (e.parentSchema ?? {}) as { type?: string | string[]; pattern?: string; minimum?: number; maximum?: number };
  const got = `got ${written(e.data)}`;
  // A value of several types (a parameter's `allowed` values and `default`): each named, as below.
  if (Array.isArray(schema.type)) return `must be ${schema.type.map((t) => TYPE_WORDS[t] ?? t).join(' or ')} (${got})`;
  const last = String(parts.filter((p) => typeof p === 'string').at(-1) ?? '');
  if (schema.pattern === DURATION_PATTERN) return `${durationProblem(last, e.data)}; ${got}`;
  if (schema.type === 'integer') {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` from ${schema.minimum} to ${schema.maximum}` : schema.minimum !== undefined ? ` of at least ${schema.minimum}` : '';
    // "written without quotes" only helps when the value is a number in quotes.
    const quoted = typeof e.data === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(e.data);
    return `must be a whole number${range}${quoted ? ', written without quotes' : ''} (${got})`;
  }
  if (schema.type === 'boolean') return `must be true or false${typeof e.data === 'string' && /^(true|false)$/i.test(e.data.trim()) ? ', written without quotes' : ''} (${got})`;
  if (schema.type === 'string') return `must be text (${got}; quote it if YAML reads it as something else)`;
  if (schema.type === 'array') return `must be a list, such as [a, b] (${got})`;
  if (schema.type === 'object') return `must be a mapping of keys to values (${got})`;
  return `${e.message ?? 'is invalid'} (${got})`;
}

/** A number out of range, with the whole range when the schema has one. */
function rangeProblem(e: ErrorObject): string {
  const schema = (e.parentSchema ?? {}) as { minimum?: number; maximum?: number };
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `must be from ${schema.minimum} to ${schema.maximum} (got ${written(e.data)})`;
  return `${e.message ?? 'is out of range'} (got ${written(e.data)})`;
}

/** What a value matching the pattern looks like, with an example. */
function patternProblem(parts: (string | number)[], pattern: string, value: unknown): string {
  const last = parts.filter((p) => typeof p === 'string').at(-1);
  if (pattern === DURATION_PATTERN) return durationProblem(String(last), value);
  if (pattern === REMINDER_POINT_PATTERN) return reminderPointProblem(value);
  if (parts[0] === 'tenants') return 'must be a tenant id (a GUID) such as 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  if (parts[0] === 'roles') return 'must be an Entra object id (a GUID) such as 11111111-2222-4333-8444-555555555555, or group: and an Entra group object id';
  if (parts[0] === 'azure' && parts[1] === 'environments') return 'must be a subscription id (a GUID) such as 00000000-0000-4000-8000-00000000abcd, listed under the environment it is';
  if (last === 'subscriptionId') return 'must be a subscription id (a GUID) such as 00000000-0000-4000-8000-00000000abcd, or empty for the local sandbox';
  if (pattern === '^https://') return `must be an https URL such as ${HTTPS_EXAMPLES[String(last)] ?? 'https://example.com/'}`;
  if (pattern === CLOCK_TIME_PATTERN) return `\`${String(last)}\` must be a time of day as HH:MM on a 24-hour clock, such as 02:00 or 18:30`;
  if (last === 'name' && parts.includes('parameters')) return 'must be a parameter name such as environment or vm_name (letters, digits, _)';
  if (last === 'name') return 'must be lowercase words such as "deploy" or "delete resource group" (letters, digits, -)';
  return `must match the pattern ${pattern}`;
}

// A value of the right shape but out of range is told so: "0m" is a duration, just not one allowed here.
const NUMBER_AND_UNIT = /^([0-9]+)(s|m|h|d|%)$/;

/** Examples of the scale each duration key takes (the documented defaults among them). */
const DURATION_EXAMPLES: Record<string, string> = {
  ttl: '30m, 4h or 2d',
  after: '15m, 1h or 4h',
  maxScheduleAhead: '7d, 14d or 30d',
  reviewWithin: '4h, 24h or 2d',
  cacheLifetime: '30s, 5m or 1h',
  checkpointInterval: '5m, 15m or 1h',
  maxDuration: '8h, 7d or 14d',
};

function durationProblem(key: string, value: unknown): string {
  const such = DURATION_EXAMPLES[key] ?? '30m, 4h or 2d';
  const m = NUMBER_AND_UNIT.exec(String(value));
  if (m && m[2] !== '%' && Number(m[1]) === 0) return `\`${key}\` must be more than zero, such as ${such} (got ${String(value)})`;
  if (m && m[2] !== '%') return `\`${key}\` must be written without a leading zero, such as ${Number(m[1])}${m[2]} (got ${String(value)})`;
  return `\`${key}\` must be a duration such as ${such} (a whole number, then s, m, h or d)`;
}

function reminderPointProblem(value: unknown): string {
  const m = NUMBER_AND_UNIT.exec(String(value));
  if (m && m[2] === '%' && Number(m[1]) >= 100) return `must be a share of the time to live left from 1% to 99%, such as 50% (got ${String(value)})`;
  if (m && Number(m[1]) === 0) return `must be more than zero: a share of the time to live left from 1% to 99%, such as 50%, or a duration before expiry, such as 15m (got ${String(value)})`;
  if (m) return `must be written without a leading zero, such as ${Number(m[1])}${m[2]} (got ${String(value)})`;
  return 'must be a share of the time to live left, such as 50%, or a duration before expiry, such as 15m';
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
