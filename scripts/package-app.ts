/**
 * Builds dist/appPackage/countersign.zip, the Teams app package to upload or sideload.
 *
 *   MicrosoftAppId=<bot app id> COUNTERSIGN_PUBLIC_URL=https://<host> node --import tsx scripts/package-app.ts
 *   node --env-file=.env --import tsx scripts/package-app.ts --out /tmp/countersign.zip
 *
 * Settings: MicrosoftAppId (required), COUNTERSIGN_PUBLIC_URL (required, https), TEAMS_APP_ID
 * (default: derived from the bot id), TEAMS_APP_VERSION (default: package.json version),
 * TEAMS_DEVELOPER_URL (default: the public URL's origin), TEAMS_PRIVACY_URL, TEAMS_TERMS_URL (default: the developer URL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { buildAppPackage } from './app-package/build-app-package';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const program = new Command('package-app')
    .description('Fill, validate and zip the Teams app package')
    .option('--out <file>', 'zip to write', path.join(root, 'dist', 'appPackage', 'countersign.zip'))
    .option('--app-package <dir>', 'folder with manifest.json and icons', path.join(root, 'appPackage'))
    .parse();
  const options = program.opts<{ out: string; appPackage: string }>();
  const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

  const built = await buildAppPackage({
    appPackageDir: path.resolve(options.appPackage),
    outFile: path.resolve(options.out),
    env: process.env,
    packageVersion: packageJson.version,
  });
  const bots = built.manifest.bots as { botId: string }[];
  console.log(`Wrote ${path.relative(process.cwd(), built.outFile)} (${built.files.join(', ')})`);
  console.log(`  Teams app id ${built.manifest.id}, version ${built.manifest.version}, bot id ${bots[0].botId}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
