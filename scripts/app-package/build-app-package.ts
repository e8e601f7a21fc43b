/**
 * Builds the Teams app package: fill the manifest template from the environment, validate it
 * offline, check the icons, and zip manifest.json + icons at the archive root.
 */
import fs from 'node:fs';
import path from 'node:path';
import JSZip from 'jszip';
import { checkColorIcon, checkOutlineIcon } from './icon-checks';
import { fillTemplate } from './manifest-template';
import { validateManifest } from './manifest-schema';
import { readManifestValues } from './package-settings';

export class AppPackageError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(`${message}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AppPackageError';
  }
}

export interface BuildOptions {
  /** Folder holding manifest.json (the template) and the icons it names. */
  appPackageDir: string;
  /** Where to write the zip; its folder is created. */
  outFile: string;
  env: NodeJS.ProcessEnv;
  /** Default app version when TEAMS_APP_VERSION is unset (the project's package.json version). */
  packageVersion: string;
}

export interface BuiltAppPackage {
  outFile: string;
  manifest: Record<string, unknown> & { id: string; version: string };
  files: string[];
}

/**
 * A fixed timestamp for every zip entry, so the same inputs always give byte-identical packages
 * (what was uploaded to Teams can be rebuilt and compared).
 */
const ZIP_ENTRY_DATE = new Date(Date.UTC(2020, 0, 1));

function iconPath(manifest: Record<string, unknown>, kind: 'color' | 'outline'): string {
  const icons = manifest.icons as Record<string, unknown> | undefined;
  const value = icons?.[kind];
  if (typeof value !== 'string' || value.includes('/') || value.includes('\\')) {
    throw new AppPackageError('Cannot build the Teams app package', [
      `manifest.json /icons/${kind}: must name a file beside manifest.json, got ${JSON.stringify(value)}`,
    ]);
  }
  return value;
}

function readIcon(dir: string, name: string): Buffer | string {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file) : `${name}: not found in ${dir}`;
}

export async function buildAppPackage(options: BuildOptions): Promise<BuiltAppPackage> {
  const templateFile = path.join(options.appPackageDir, 'manifest.json');
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Record<string, unknown>;
  const values = readManifestValues(options.env, options.packageVersion);
  const manifest = fillTemplate(template, values);

  const problems = await validateManifest(manifest);
  const colorName = iconPath(manifest, 'color');
  const outlineName = iconPath(manifest, 'outline');
  const color = readIcon(options.appPackageDir, colorName);
  const outline = readIcon(options.appPackageDir, outlineName);
  problems.push(...(typeof color === 'string' ? [color] : checkColorIcon(colorName, color)));
  problems.push(...(typeof outline === 'string' ? [outline] : checkOutlineIcon(outlineName, outline)));
  if (problems.length > 0 || typeof color === 'string' || typeof outline === 'string') {
    throw new AppPackageError(`The Teams app package in ${options.appPackageDir} is not valid`, problems);
  }

  const zip = new JSZip();
  const entries: [string, string | Buffer][] = [
    ['manifest.json', JSON.stringify(manifest, null, 2) + '\n'],
    [colorName, color],
    [outlineName, outline],
  ];
  for (const [name, content] of entries) zip.file(name, content, { date: ZIP_ENTRY_DATE });
  const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform: 'UNIX' });
  fs.mkdirSync(path.dirname(options.outFile), { recursive: true });
  fs.writeFileSync(options.outFile, bytes);
  return {
    outFile: options.outFile,
    manifest: manifest as BuiltAppPackage['manifest'],
    files: entries.map(([name]) => name),
  };
}
