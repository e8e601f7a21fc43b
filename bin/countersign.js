#!/usr/bin/env node
// The `countersign` command. TypeScript sources run through tsx's loader (no build step).
require('tsx/cjs');
require('../src/cli/main.ts').run(process.argv);
