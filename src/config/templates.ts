/**
 * The ARM templates a config names, read and checked when the config loads (at start and by
 * `countersign config check`) and kept in memory: a request deploys a template as it was when the
 * config was loaded, and the policy version covers the templates' bytes as well as the YAML's. A
 * template changed on disk takes effect at the next start, as the YAML does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../domain/canonical';
import { isCheckedValue, type OperationTemplate, type ParameterSpec, type PathUse, pathParameters, pathValueProblem, placeholdersIn } from '../domain/catalog';
import { inConfigFolder, OutsideFolderError, utf8JsonText } from './bounded-file';
import { fetchedWhenRun } from './template-content';

/** ARM refuses a template over 4 MB: a larger file is no template, and is not read whole. */
const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;

/** A template as read at load: its bytes' SHA-256 and its text (parsed afresh for each request). */
interface LoadedTemplate {
  sha256: string;
  text: string;
}

/** A template read, by its path relative to the config folder ('/' between folders). */
export interface TemplateFile {
  path: string;
  sha256: string;
}

/** A template file refused for what it is, not because it could not be read. */
class TemplateRefusal extends Error {}

export class ConfigTemplates {
  private readonly loaded = new Map<string, LoadedTemplate>();
  private readonly folder: string;

  constructor(dir: string) {
    this.folder = path.resolve(dir);
  }

  /**
   * Reads every file a command's `template` can name: each value of an enum placeholder, a
   * parameter's default, and for any other placeholder every file of its folder whose name a
   * checked value could give. Returns the problems found (none: all of them read and valid).
   */
  readFor(op: OperationTemplate, parameters: ParameterSpec[]): string[] {
    if (typeof op.template !== 'string') return [];
    const problems: string[] = [];
    const uses = pathParameters({ operation: op });
    const { concrete, open } = expand(op.template, parameters);
    for (const file of concrete) {
      try {
        this.read(file);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const found = open.flatMap((pattern) => this.filesMatching(pattern, parameters, uses));
    for (const file of found) {
      try {
        this.read(file);
      } catch (err) {
        problems.push(`${(err as Error).message} (a file ${op.template} can name: all of them are read at start)`);
      }
    }
    if (concrete.length === 0 && found.length === 0) {
      problems.push(`template ${op.template} names no file in ${this.folder} (the templates a request can name are read at start)`);
    }
    return problems;
  }

  /** The template a request names, as read when the config loaded (a copy of its own). */
  get(relativePath: string): Record<string, unknown> {
    const loaded = this.loaded.get(this.keyOf(relativePath));
    if (!loaded) throw new Error(`template file ${relativePath} not found (looked in ${this.folder} when the config was loaded)`);
    return JSON.parse(loaded.text) as Record<string, unknown>;
  }

  /** Every template read, in the order of their paths' UTF-8 bytes (the policy version's order). */
  list(): TemplateFile[] {
    return [...this.loaded.entries()]
      .map(([file, t]) => ({ path: file, sha256: t.sha256 }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
  }

  /**
   * The policy version: with no template, the config file's SHA-256 (as before templates counted);
   * else the SHA-256 of the lines "<config file's SHA-256>\n" then "<template's SHA-256>  <path>\n"
   * for each template in `list()` order: what `sha256sum` prints, so it can be recomputed by hand
   * (docs/configuration.md#the-policy-version).
   */
  policyVersion(configSha256: string): string {
    const files = this.list();
    if (files.length === 0) return configSha256;
    return sha256Hex(`${configSha256}\n${files.map((f) => `${f.sha256}  ${f.path}\n`).join('')}`);
  }

  /** A path relative to the config folder, as the map keys it; one leaving the folder is refused. */
  private keyOf(relativePath: string): string {
    const file = path.resolve(this.folder, relativePath);
    if (!file.startsWith(this.folder + path.sep)) throw new Error(`template ${relativePath} is outside the config folder`);
    return path.relative(this.folder, file).split(path.sep).join('/');
  }

  private read(relativePath: string): void {
    const key = this.keyOf(relativePath);
    if (this.loaded.has(key)) return;
    let bytes: Buffer;
    try {
      // A link inside the folder to a file outside it is outside it too: the config names what may run.
      const real = inConfigFolder(this.folder, key, 'template');
      // Not a file (a folder, a pipe that would never end) or larger than ARM takes: not read at all.
      const stat = fs.statSync(real);
      if (!stat.isFile()) throw new TemplateRefusal(`template file ${relativePath} is not a file`);
      if (stat.size > MAX_TEMPLATE_BYTES) throw new TemplateRefusal(`template file ${relativePath} is ${stat.size.toLocaleString('en-US')} bytes; ARM takes a template of at most 4 MB`);
      bytes = fs.readFileSync(real);
    } catch (err) {
      if (err instanceof TemplateRefusal) throw err;
      if (err instanceof OutsideFolderError) throw new TemplateRefusal(err.message);
      throw new Error(`template file ${relativePath} not found (looked in ${this.folder})`);
    }
    const decoded = utf8JsonText(bytes);
    if ('problem' in decoded) throw new TemplateRefusal(`template file ${relativePath} ${decoded.problem}`);
    const { text } = decoded;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object' || !('resources' in parsed)) throw new Error('it has no "resources"');
    } catch (err) {
      throw new Error(`template file ${relativePath} is not a valid ARM template: ${(err as Error).message}`);
    }
    const fetched = fetchedWhenRun(parsed, relativePath);
    if (fetched) throw new TemplateRefusal(fetched);
    this.loaded.set(key, { sha256: sha256Hex(bytes), text });
  }

  /**
   * The files of the config folder a template path with placeholders a requester fills can name:
   * each placeholder stands for part of one file or folder name, a value its parameter's check
   * takes (and a request could hold: no "/", "..", "%"...).
   */
  private filesMatching(pattern: string, parameters: ParameterSpec[], uses: Map<string, PathUse>): string[] {
    let at = [''];
    for (const segment of pattern.split('/')) {
      if (placeholdersIn(segment).length === 0) {
        at = at.map((d) => path.posix.join(d, segment));
        continue;
      }
      const shape = segmentShape(segment);
      at = at.flatMap((d) =>
        entriesOf(path.join(this.folder, d)).filter((name) => {
          const groups = shape.exec(name)?.groups;
          return !!groups && Object.entries(groups).every(([param, value]) => {
            const spec = parameters.find((p) => p.name === param);
            return spec ? isCheckedValue(spec, value, uses.get(param) ?? 'template') : pathValueProblem(param, value, undefined, 'template') === undefined;
          });
        }).map((name) => path.posix.join(d, name)),
      );
    }
    return at;
  }
}

/**
 * A template path with each enum placeholder (and each placeholder with a default) put in: the
 * paths with no placeholder left, which must exist, and those a requester's value still fills.
 */
function expand(template: string, parameters: ParameterSpec[]): { concrete: string[]; open: string[] } {
  let paths = [template];
  for (const name of placeholdersIn(template)) {
    const p = parameters.find((x) => x.name === name);
    const fill = (t: string, v: string) => t.split(`{${name}}`).join(v);
    if (p?.type === 'enum' && p.allowed) paths = paths.flatMap((t) => p.allowed!.map((v) => fill(t, v)));
    else if (p?.default !== undefined) paths = paths.flatMap((t) => [fill(t, p.default!), t]);
  }
  return { concrete: paths.filter((t) => placeholdersIn(t).length === 0), open: paths.filter((t) => placeholdersIn(t).length > 0) };
}

/** A file or folder name with placeholders as a pattern: each placeholder a named group (again: the same text). */
function segmentShape(segment: string): RegExp {
  const seen = new Set<string>();
  let source = '';
  let last = 0;
  for (const m of segment.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    source += escapeRegExp(segment.slice(last, m.index)) + (seen.has(m[1]) ? `\\k<${m[1]}>` : `(?<${m[1]}>.+)`);
    seen.add(m[1]);
    last = m.index + m[0].length;
  }
  return new RegExp(`^${source}${escapeRegExp(segment.slice(last))}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A folder's entries, or none when it is missing or no folder. */
function entriesOf(folder: string): string[] {
  try {
    return fs.readdirSync(folder);
  } catch {
    return [];
  }
}
