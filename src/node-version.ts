/**
 * The Node Countersign runs on: 24, the one its database driver's native addon is built for. On
 * another, the addon fails to load with advice to rebuild it for that Node; this says what to do
 * instead. Checked first by the entry points (the bot, the `countersign` command, the local trial's
 * scripts), before anything is read or made.
 */

const NODE_MAJOR = 24;

/** Why this Node cannot run Countersign, or undefined. */
export function nodeProblem(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major === NODE_MAJOR) return undefined;
  return `this terminal runs Node ${version}; Countersign needs Node ${NODE_MAJOR} (its database driver is built for it). Run eval "$(scripts/node24.sh)" in this terminal first (docs/operations-runtime.md).`;
}
