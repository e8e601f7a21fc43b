/**
 * What the CLI prints from the database, made inert on a terminal. A stored string (a request id,
 * its state, a reason, a record's field) may hold control characters: written by someone with the
 * database file, or recorded before every control character was escaped at record time. An ESC or
 * CSI printed as it is would act on the operator's terminal (move the cursor, rewrite what is shown,
 * set the window title), and a line end would forge a line of the report. Every C0 control but tab,
 * DEL, the C1 controls and the Unicode line and paragraph separators are written as the audit
 * records write them (`\n`, `\r`, `\u001b`), so the operator sees them for what they are. So are the
 * bidi controls (a terminal that lays out bidirectional text would show the rest of the line
 * reordered) and the zero-width and other invisible format characters of the BMP (a name printed
 * without showing one reads as another's): `\u202e`, `\u200b`.
 */
import { escapedControl } from '../domain/audit';

const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
const CONTROLS_BUT_LINE_FEED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/** One value from the database, shown inside a line: every control character escaped, line ends too. */
export function shownValue(text: string): string {
  return String(text).replace(CONTROLS, escapedControl);
}

/** A report of several lines holding values from the database: its own line feeds kept, every other control escaped. */
export function shownReport(text: string): string {
  return text.replace(CONTROLS_BUT_LINE_FEED, escapedControl);
}

/** Writes a report to standard output, made inert on a terminal (`shownReport`). */
export function report(io: { stdout: { write(text: string): boolean } }, text: string): boolean {
  return io.stdout.write(shownReport(text));
}
