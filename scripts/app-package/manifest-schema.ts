/**
 * Offline validation of a Teams manifest against the JSON schemas bundled in @microsoft/app-manifest.
 * The schema is always read from the package: a manifest whose $schema is not bundled is refused
 * rather than fetched, so packaging never depends on the network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppManifestUtils } from '@microsoft/app-manifest';

type AppManifest = Parameters<typeof AppManifestUtils.validateAgainstSchema>[0];
type ManifestSchema = NonNullable<Parameters<typeof AppManifestUtils.validateAgainstSchema>[1]>;

class ManifestSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestSchemaError';
  }
}

const SCHEMA_URL = /^https:\/\/developer\.microsoft\.com\/json-schemas\/teams\/v(\d+\.\d+)\/MicrosoftTeams\.schema\.json$/;

function bundledTeamsSchemaDir(): string {
  const packageJson = require.resolve('@microsoft/app-manifest/package.json');
  return path.join(path.dirname(packageJson), 'build', 'json-schemas', 'teams');
}

/** Released manifest versions bundled in the package ("1.0" ... ), oldest first; devPreview excluded. */
function bundledSchemaVersions(): string[] {
  return fs
    .readdirSync(bundledTeamsSchemaDir())
    .map((dir) => /^v(\d+)\.(\d+)$/.exec(dir))
    .filter((m): m is RegExpExecArray => m !== null)
    .filter((m) => fs.existsSync(path.join(bundledTeamsSchemaDir(), m[0], 'MicrosoftTeams.schema.json')))
    .sort((a, b) => Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]))
    .map((m) => `${m[1]}.${m[2]}`);
}

export function newestBundledSchemaVersion(): string {
  const versions = bundledSchemaVersions();
  if (versions.length === 0) throw new ManifestSchemaError('@microsoft/app-manifest bundles no Teams manifest schema');
  return versions[versions.length - 1];
}

export function schemaUrlFor(version: string): string {
  return `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`;
}

function loadBundledSchema(schemaUrl: unknown): { version: string; schema: ManifestSchema } {
  const match = typeof schemaUrl === 'string' ? SCHEMA_URL.exec(schemaUrl) : null;
  if (!match) {
    throw new ManifestSchemaError(
      `manifest.json /$schema must be ${schemaUrlFor('X.Y')} for a bundled version, got ${JSON.stringify(schemaUrl)}`,
    );
  }
  const file = path.join(bundledTeamsSchemaDir(), `v${match[1]}`, 'MicrosoftTeams.schema.json');
  if (!fs.existsSync(file)) {
    throw new ManifestSchemaError(
      `manifest.json /$schema names v${match[1]}, which @microsoft/app-manifest does not bundle ` +
        `(bundled: ${bundledSchemaVersions().join(', ')})`,
    );
  }
  // Some published schemas carry \a and \v escapes that JSON.parse rejects; the package does the same.
  const text = fs.readFileSync(file, 'utf8').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b');
  return { version: match[1], schema: JSON.parse(text) as ManifestSchema };
}

/**
 * Problems found in `manifest`, each as "manifest.json <JSON pointer>: <reason>"; empty when valid.
 * Throws ManifestSchemaError when the manifest does not name a bundled schema.
 */
export async function validateManifest(manifest: Record<string, unknown>): Promise<string[]> {
  const { version, schema } = loadBundledSchema(manifest.$schema);
  const problems: string[] = [];
  if (manifest.manifestVersion !== version) {
    problems.push(
      `manifest.json /manifestVersion: must be "${version}" to match /$schema, got ${JSON.stringify(manifest.manifestVersion)}`,
    );
  }
  const failures = await AppManifestUtils.validateAgainstSchema(manifest as unknown as AppManifest, schema);
  for (const failure of failures) {
    // The package formats failures as "<instancePath> <message>. Details: {...}".
    const [where, ...rest] = failure.split(' ');
    problems.push(`manifest.json ${where || '/'}: ${rest.join(' ')}`);
  }
  return problems;
}
