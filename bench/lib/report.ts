/** The figures as results.json holds them, and the table printed at the end of a run. */
export interface Target {
  /** Compared: the product/floor ratio, or the value itself. */
  ratio?: '>=';
  value?: '<=';
  limit: number;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The floor measured in the same run, where there is one. */
  baseline?: number;
  /** value / baseline, for rates. */
  ratio?: number;
  target?: Target;
  met?: boolean;
}

function targetText(t: Target | undefined, unit: string): string {
  if (!t) return '';
  return t.ratio ? `ratio >= ${t.limit}` : `<= ${t.limit} ${unit}`;
}

export function isMet(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  if (f.target.ratio) return f.ratio !== undefined && f.ratio >= f.target.limit;
  return f.value <= f.target.limit;
}

function num(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

export function formatTable(figures: Figure[]): string {
  const rows = [
    ['Figure', 'Value', 'Floor', 'Ratio', 'Target', 'Met'],
    ...figures.map((f) => {
      const met = isMet(f);
      return [f.name, `${num(f.value)} ${f.unit}`, f.baseline !== undefined ? `${num(f.baseline)} ${f.unit}` : '', f.ratio !== undefined ? f.ratio.toFixed(2) : '', targetText(f.target, f.unit), met === undefined ? '' : met ? 'yes' : 'NO'];
    }),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
