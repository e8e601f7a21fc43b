/**
 * `npm run deploy:role-actions [-- <config.yaml>]`: writes deploy/role-actions.json, the actions of the
 * Bicep custom role, as exactly what the catalog's commands need (test/deploy/role-vs-catalog.test.ts
 * fails when the two disagree).
 */
import fs from 'node:fs';
import path from 'node:path';
import { catalogActions } from '../src/azure/catalog-actions';
import { ConfigError, loadConfig } from '../src/config/load';

// An empty COUNTERSIGN_CONFIG means the default, as for the bot and the countersign command.
const configPath = process.argv[2] || process.env.COUNTERSIGN_CONFIG || 'config/countersign.example.yaml';
const out = path.resolve(__dirname, '..', 'deploy', 'role-actions.json');
try {
  const actions = [...catalogActions(loadConfig(configPath)).keys()];
  fs.writeFileSync(out, `${JSON.stringify({ actions }, null, 2)}\n`);
  process.stdout.write(`${out}: ${actions.length} action(s) for ${configPath}\n`);
} catch (err) {
  // A config mistake is said as `config check` says it (file:line: key: problem), not as a stack trace.
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n${out} was not written.\n`);
  process.exitCode = 1;
}
