/** The command line's exit codes for what commander refuses (docs/cli.md). */

/**
 * The exit code of what commander stopped on (docs/cli.md): 0 for help asked for (`--help`,
 * `help`) and the version; 1 for a bad value given to an option or argument (a date that is not
 * one, a format not offered, --from not before --to); 64 for a usage error: an unknown command or
 * option, a missing argument or required option, and no command at all (the help is shown).
 */
export function exitCodeOf(err: { code: string; exitCode: number }): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
  if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 64;
  if (err.code === 'countersign.usage') return 64;
  if (err.code === 'commander.invalidArgument' || err.code.startsWith('countersign.')) return 1;
  return err.exitCode === 0 ? 0 : 64;
}
