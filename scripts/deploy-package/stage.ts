/**
 * The deployment package App Service runs: compiled JavaScript, the card templates, the example
 * config, the `countersign` bin, a package.json reduced to what running needs, and production
 * dependencies only. Native addons (better-sqlite3) are the ones built by `npm ci` for the Node that
 * runs this, so package under the Node the web app runs (24).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface StageOptions {
  root: string;
  /** Folder to (re)create with the package's contents. */
  stage: string;
  log?: (line: string) => void;
}

export interface StagedPackage {
  stage: string;
  nodeVersion: string;
  files: number;
  bytes: number;
  /** The biggest production dependencies, largest first. */
  largest: { name: string; bytes: number }[];
}

/** What of package.json a deployed copy needs: no dev dependencies, no development scripts. */
function runtimePackageJson(pkg: Record<string, unknown>): Record<string, unknown> {
  const keep = ['name', 'version', 'private', 'description', 'license', 'engines', 'bin', 'dependencies'];
  const out: Record<string, unknown> = Object.fromEntries(keep.filter((k) => k in pkg).map((k) => [k, pkg[k]]));
  out.scripts = { start: (pkg.scripts as Record<string, string>).start };
  return out;
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (${result.error?.message ?? `exit ${result.status}`})`);
}

function folderSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

function largestDependencies(nodeModules: string, count: number): { name: string; bytes: number }[] {
  const names = fs.readdirSync(nodeModules).filter((n) => !n.startsWith('.')).flatMap((n) => (n.startsWith('@') ? fs.readdirSync(path.join(nodeModules, n)).map((m) => `${n}/${m}`) : [n]));
  return names
    .map((name) => ({ name, bytes: folderSize(path.join(nodeModules, name)).bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

export function stageDeployPackage(options: StageOptions): StagedPackage {
  const { root, stage } = options;
  const log = options.log ?? (() => undefined);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });

  log('compiling src/ (tsconfig.build.json) into the package');
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(stage, 'dist')], root);
  for (const dir of ['cards', 'config', 'bin']) fs.cpSync(path.join(root, dir), path.join(stage, dir), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(runtimePackageJson(pkg), null, 2) + '\n');
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(stage, 'package-lock.json'));

  // The installed packages package-lock.json does not mark dev-only, as installed (native addons
  // already built): a fresh `npm ci --omit=dev` would rebuild better-sqlite3 from source. Files no
  // `require` reaches are left out as they are copied.
  log('copying the production dependencies');
  const left = { files: 0, bytes: 0 };
  const loaded = (source: string): boolean => {
    if (!isLeftOut(source)) return true;
    const stat = fs.statSync(source);
    left.files += stat.isFile() ? 1 : folderSize(source).files;
    left.bytes += stat.isFile() ? stat.size : folderSize(source).bytes;
    return false;
  };
  for (const dir of productionPackages(root)) {
    fs.cpSync(path.join(root, dir), path.join(stage, dir), { recursive: true, verbatimSymlinks: true, filter: loaded });
  }
  log(`left out ${left.files} files (${(left.bytes / 1024 / 1024).toFixed(1)} MB) nothing loads at run time: source maps, TypeScript sources and declarations, better-sqlite3's build intermediates`);

  const size = folderSize(stage);
  return { stage, nodeVersion: process.version, ...size, largest: largestDependencies(path.join(stage, 'node_modules'), 5) };
}

/** Files of dependencies no `require` reaches: half the size and two thirds of the files of node_modules. */
const NOT_LOADED = /(\.map|\.ts|\.mts|\.cts)$/;
/** better-sqlite3 loads build/Release/better_sqlite3.node; the SQLite sources and object files only built it. */
const SQLITE_BUILD_LEFTOVERS = ['better-sqlite3/deps', 'better-sqlite3/src', 'better-sqlite3/build/Release/obj.target', 'better-sqlite3/build/Release/.deps', 'better-sqlite3/build/Release/obj', 'better-sqlite3/build/deps'];

function isLeftOut(source: string): boolean {
  const rel = source.split(path.sep).join('/');
  return NOT_LOADED.test(rel) || SQLITE_BUILD_LEFTOVERS.some((dir) => rel.endsWith(`/node_modules/${dir}`));
}

/** Top-level node_modules folders of production (and optional) dependencies that are installed. */
function productionPackages(root: string): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([dir, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(dir) && !entry.dev)
    .map(([dir]) => dir)
    .filter((dir) => fs.existsSync(path.join(root, dir)));
}
