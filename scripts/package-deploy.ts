/**
 * Builds the deployment package for Azure App Service and reports its size:
 *
 *   npm run package:deploy                    -> out/countersign/ and out/countersign.zip
 *   npm run package:deploy -- --no-zip        the folder only
 *
 * Run it under Node 24 (eval "$(scripts/node24.sh)"; npm ci first): native addons are packaged as
 * built for the Node running this, and the web app runs Node 24. deploy/README.md step 7 deploys it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { stageDeployPackage } from './deploy-package/stage';

const root = path.resolve(__dirname, '..');
const DEPLOYED_NODE_MAJOR = Number(fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim());

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Info-ZIP's `zip` (Debian package `zip`): tens of thousands of files, streamed, permissions kept. */
function zipFolder(folder: string, file: string): number {
  fs.rmSync(file, { force: true });
  const result = spawnSync('zip', ['-q', '-r', '-X', '-y', file, '.'], { cwd: folder, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error || result.status !== 0) {
    throw new Error(`zip failed (${result.error?.message ?? `exit ${result.status}`}); install it with apt-get install -y zip, or deploy the folder with --no-zip`);
  }
  return fs.statSync(file).size;
}

async function main(): Promise<void> {
  const options = new Command('package-deploy')
    .description('Compile and stage the App Service deployment package, and report its size')
    .option('--out <dir>', 'folder for the package folder and zip', path.join(root, 'out'))
    .option('--no-zip', 'stage the folder only')
    .parse()
    .opts<{ out: string; zip: boolean }>();
  const out = path.resolve(options.out);
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== DEPLOYED_NODE_MAJOR) {
    console.warn(`WARNING: packaging under Node ${process.version}; the web app runs Node ${DEPLOYED_NODE_MAJOR} and better-sqlite3 is packaged as built for this Node. For a deployable package: eval "$(scripts/node24.sh)" && npm ci && npm run package:deploy`);
  }
  const staged = stageDeployPackage({ root, stage: path.join(out, 'countersign'), log: (line) => console.log(`- ${line}`) });
  console.log(`Package folder ${path.relative(process.cwd(), staged.stage)}: ${staged.files} files, ${mb(staged.bytes)} (built with Node ${staged.nodeVersion})`);
  console.log(`  largest dependencies: ${staged.largest.map((d) => `${d.name} ${mb(d.bytes)}`).join(', ')}`);
  if (options.zip) {
    const file = path.join(out, 'countersign.zip');
    const bytes = zipFolder(staged.stage, file);
    console.log(`Package zip ${path.relative(process.cwd(), file)}: ${mb(bytes)} (${bytes} bytes)`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
