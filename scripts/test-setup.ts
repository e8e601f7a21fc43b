/**
 * `npm test`'s set-up step (the `pretest` script): whatever the suite needs that `npm ci` does not
 * install. Today that is Debian's Chromium for the browser test: installed here when missing and this
 * is root, otherwise the run stops at once with the command to run. The decision lives in
 * `planTestSetup` so it can be tested without touching the machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
export const SUPPORTED_NODE_MAJOR = 24;

export interface Machine {
  chromiumPath?: string;
  exists(file: string): boolean;
  isRoot: boolean;
  hasAptGet: boolean;
  nodeVersion: string;
}

export type SetupStep =
  | { kind: 'note'; text: string }
  | { kind: 'run'; command: string; args: string[]; env?: Record<string, string> }
  | { kind: 'stop'; text: string };

/** What to do on this machine, in order. A `stop` ends the plan. */
export function planTestSetup(machine: Machine): SetupStep[] {
  const steps: SetupStep[] = [];
  const major = Number(/^v?(\d+)/.exec(machine.nodeVersion)?.[1]);
  if (major !== SUPPORTED_NODE_MAJOR) {
    steps.push({
      kind: 'note',
      text: `Node ${machine.nodeVersion} is not the runtime Countersign supports (Node ${SUPPORTED_NODE_MAJOR} LTS, see engines); the suite may still pass. For Node ${SUPPORTED_NODE_MAJOR}: eval "$(scripts/node24.sh)" && npm ci && npm test`,
    });
  }
  if (machine.chromiumPath) {
    if (!machine.exists(machine.chromiumPath)) steps.push({ kind: 'stop', text: `CHROMIUM_PATH is ${machine.chromiumPath}, which does not exist. Point it at a Chromium binary, or unset it to use Debian's ${DEFAULT_CHROMIUM}.` });
    return steps;
  }
  if (machine.exists(DEFAULT_CHROMIUM)) return steps;
  if (!machine.hasAptGet) {
    steps.push({ kind: 'stop', text: `The browser test needs Chromium at ${DEFAULT_CHROMIUM} and this machine has no apt-get. Install Chromium and set CHROMIUM_PATH to its binary, then run npm test again.` });
    return steps;
  }
  if (!machine.isRoot) {
    steps.push({ kind: 'stop', text: `The browser test needs Debian's Chromium, which is not installed. Run:\n  sudo apt-get update && sudo apt-get install -y chromium\nthen npm test again.` });
    return steps;
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  steps.push({ kind: 'note', text: `Chromium is missing at ${DEFAULT_CHROMIUM}: installing Debian's chromium for the browser test (apt-get).` });
  steps.push({ kind: 'run', command: 'apt-get', args: ['update'], env });
  steps.push({ kind: 'run', command: 'apt-get', args: ['install', '-y', 'chromium'], env });
  return steps;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(`${dir}/${command}`));
}

function main(): void {
  const steps = planTestSetup({
    ...(process.env.CHROMIUM_PATH ? { chromiumPath: process.env.CHROMIUM_PATH } : {}),
    exists: (file) => fs.existsSync(file),
    isRoot: process.getuid?.() === 0,
    hasAptGet: onPath('apt-get'),
    nodeVersion: process.version,
  });
  for (const step of steps) {
    if (step.kind === 'note') process.stderr.write(`test set-up: ${step.text}\n`);
    if (step.kind === 'stop') {
      process.stderr.write(`test set-up: ${step.text}\n`);
      process.exit(1);
    }
    if (step.kind === 'run') {
      const result = spawnSync(step.command, step.args, { stdio: 'inherit', env: { ...process.env, ...step.env } });
      if (result.status !== 0) {
        process.stderr.write(`test set-up: \`${step.command} ${step.args.join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`}).\n`);
        process.exit(1);
      }
    }
  }
}

if (require.main === module) main();
