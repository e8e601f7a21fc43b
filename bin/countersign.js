#!/usr/bin/env node
// The `countersign` command. TypeScript sources run through tsx's loader (no build step).
require('tsx/cjs');
require('../src/cli/main.ts').run({
  // Loaded only by `countersign start`: the audit and config commands need no HTTP stack.
  start: () => require('../src/main.ts').startCountersign(),
}, process.argv);
