/**
 * Just enough reading of Bicep source to check a template offline (no bicep CLI here): parameter
 * declarations with their decorators, and the body of a resource or module declaration.
 */

export interface BicepParam {
  name: string;
  type: string;
  hasDefault: boolean;
  decorators: string[];
}

/** Strips // comments (outside strings), so commented-out text never satisfies a check. */
export function withoutComments(source: string): string {
  return source
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        if (line[i] === "'" && line[i - 1] !== '\\') inString = !inString;
        if (!inString && line[i] === '/' && line[i + 1] === '/') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

export function readParams(source: string): BicepParam[] {
  const params: BicepParam[] = [];
  let decorators: string[] = [];
  for (const raw of withoutComments(source).split('\n')) {
    const line = raw.trim();
    if (line.startsWith('@')) {
      decorators.push(line);
      continue;
    }
    const match = /^param\s+(\w+)\s+(\w+)(\s*=.*)?$/.exec(line);
    if (match) params.push({ name: match[1], type: match[2], hasDefault: match[3] !== undefined, decorators });
    if (line !== '') decorators = [];
  }
  return params;
}

/**
 * The `{ ... }` body of `resource <symbol> '<type>@<version>' = ...` or `module <symbol> '<path>' = ...`.
 * Braces inside '${...}' interpolations are balanced, so plain counting finds the closing brace.
 */
export function declarationBody(source: string, keyword: 'resource' | 'module', symbol: string): string {
  const text = withoutComments(source);
  const start = new RegExp(`^${keyword}\\s+${symbol}\\s+'[^']+'\\s*=[^{]*\\{`, 'm').exec(text);
  if (!start) throw new Error(`no ${keyword} named ${symbol}`);
  let depth = 0;
  for (let i = start.index + start[0].length - 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(start.index, i + 1);
  }
  throw new Error(`${keyword} ${symbol} has no closing brace`);
}

/** The quoted type (resource) or path (module) of every declaration of that keyword. */
export function declarations(source: string, keyword: 'resource' | 'module'): { symbol: string; target: string }[] {
  const pattern = new RegExp(`^${keyword}\\s+(\\w+)\\s+'([^']+)'`, 'gm');
  return [...withoutComments(source).matchAll(pattern)].map((m) => ({ symbol: m[1], target: m[2] }));
}
