/**
 * Runs one `countersign` command (the CLI's own program, as bin/countersign.js does) and, when the
 * process exits, writes how long the command took and the process's peak resident set to the file
 * named by BENCH_RESULT_FILE.
 */
import fs from 'node:fs';
import { buildProgram } from '../../src/cli/main';

const args = JSON.parse(process.env.BENCH_CLI_ARGS ?? '[]') as string[];
const resultFile = process.env.BENCH_RESULT_FILE ?? '';
const started = process.hrtime.bigint();
let finished: bigint | undefined;

process.on('exit', (code) => {
  const end = finished ?? process.hrtime.bigint();
  if (resultFile) {
    fs.writeFileSync(
      resultFile,
      JSON.stringify({ code, commandSeconds: Number(end - started) / 1e9, uptimeSeconds: process.uptime(), maxRssMb: process.resourceUsage().maxRSS / 1024 }),
    );
  }
});

// As bin/countersign.js does: the bot's HTTP stack is loaded only by `countersign start`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
buildProgram({ start: () => (require('../../src/main') as typeof import('../../src/main')).main() })
  .parseAsync(['node', 'countersign', ...args])
  .then(
    () => {
      finished = process.hrtime.bigint();
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = 1;
    },
  );
