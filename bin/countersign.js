#!/usr/bin/env -S node --max-semi-space-size=16
// The option on the line above: V8's young generation held to 16 MB semi-spaces, as the service runs
// (package.json's start script, docs/operations-runtime.md). Node 24 otherwise grows it to 64 MB ones
// on a host with a lot of memory: an export of 1,000,000 records from PostgreSQL peaked at 290 MB
// of resident memory without it, 195 MB with it. `npm run countersign` gives node the same option.
// The `countersign` command. From a checkout (src/ present, tsx installed) it runs the TypeScript
// sources through tsx's loader, so development needs no build step; from a deployment package (src/
// absent) it runs the compiled JavaScript in dist/ with plain node.
const fs = require('node:fs');
const path = require('node:path');

function sourceEntry() {
  const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
  if (!fs.existsSync(source)) return undefined;
  try {
    require.resolve('tsx/cjs');
  } catch {
    return undefined; // a checkout installed without devDependencies: use the build
  }
  require('tsx/cjs');
  return source;
}

const source = sourceEntry();
const entry = source ?? path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(`countersign: ${entry} is missing: run \`npm run build\` first.\n`);
  process.exit(1);
}
// `countersign start`: listen for the stop signals before the command line's modules load, as the bot's
// entry point does from its first import (src/early-stop-signals.ts), so a stop in that time is a stop
// while starting (exit code 0), not a kill.
if (process.argv[2] === 'start') {
  require(source ? path.join(__dirname, '..', 'src', 'early-stop-signals.ts') : path.join(__dirname, '..', 'dist', 'early-stop-signals.js'));
}
require(entry).run({
  // Loaded only by `countersign start`: the audit and config commands need no HTTP stack. The bot's
  // own entry point, so that it stops, and exits 1, exactly as `npm start` does.
  start: () => require(source ? path.join(__dirname, '..', 'src', 'main.ts') : path.join(__dirname, '..', 'dist', 'main.js')).main(),
}, process.argv);
