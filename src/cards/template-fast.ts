/**
 * A compiled expander for the part of the Adaptive Card Templating language that the templates in
 * cards/ use: `${name}` (a whole string, which keeps the value's type, or interpolated into text),
 * `$when: "${flag}"` and `$data: "${list}"` on array items. It exists because the click path
 * renders a request card per approval and adaptivecards-templating parses and evaluates every
 * expression through adaptive-expressions each time (profiled: about a quarter of the bot's CPU
 * per approval under load).
 *
 * adaptivecards-templating stays the reference: whatever this expander cannot reproduce exactly
 * (any other expression, a name the scope lacks, a value of a type the language would treat in some
 * other way) makes it answer `undefined`, and the caller expands the template with the library.
 * test/cards/template-fast.test.ts holds the two to the same output for every card Countersign renders.
 */

type Scope = Record<string, unknown>;
/** Renders a value in a scope; `NO` when the fast path cannot be sure of the library's answer. */
type Render = (scope: Scope) => unknown;
/** Renders an array item into 0..n items. False when the fast path cannot be sure. */
type RenderItems = (scope: Scope, out: unknown[]) => boolean;

const NO: unique symbol = Symbol('unsupported');

const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const PART = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

class NotCompilable extends Error {}

function own(scope: Scope, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(scope, name) ? scope[name] : NO;
}

/** A value the language inserts as it is: no expression text of its own, nothing to format. */
function isPlain(v: unknown): v is string | number | boolean {
  if (typeof v === 'string') return !v.includes('${');
  return typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function compileString(s: string): Render {
  if (!s.includes('${')) return () => s;
  const whole = WHOLE.exec(s);
  if (whole) {
    const name = whole[1];
    return (scope) => {
      const v = own(scope, name);
      if (isPlain(v)) return v;
      // A list of plain strings (the refresh's userIds) is inserted as the list itself.
      if (Array.isArray(v) && v.every((x) => typeof x === 'string' && isPlain(x))) return [...v];
      return NO;
    };
  }
  // Text with expressions in it: constant pieces and names, alternately.
  const pieces: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of s.matchAll(PART)) {
    if (!NAME.test(m[1])) throw new NotCompilable(m[0]);
    pieces.push(s.slice(last, m.index));
    names.push(m[1]);
    last = m.index + m[0].length;
  }
  pieces.push(s.slice(last));
  if (pieces[pieces.length - 1].includes('${')) throw new NotCompilable(s);
  return (scope) => {
    let text = pieces[0];
    for (let i = 0; i < names.length; i++) {
      const v = own(scope, names[i]);
      // Only text is interpolated here; how the language writes numbers and booleans into text is its own.
      if (typeof v !== 'string' || !isPlain(v)) return NO;
      text += v + pieces[i + 1];
    }
    return text;
  };
}

function wholeName(value: unknown, key: string): string {
  const m = typeof value === 'string' ? WHOLE.exec(value) : null;
  if (!m) throw new NotCompilable(`${key}: ${String(value)}`);
  return m[1];
}

function compileObject(node: Record<string, unknown>): Render {
  if ('$when' in node || '$data' in node) throw new NotCompilable('$when or $data outside an array');
  const keys = Object.keys(node);
  const values = keys.map((k) => compile(node[k]));
  return (scope) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const v = values[i](scope);
      if (v === NO) return NO;
      out[keys[i]] = v;
    }
    return out;
  };
}

function compileItem(node: unknown): RenderItems {
  if (!node || typeof node !== 'object' || Array.isArray(node) || !('$when' in node || '$data' in node)) {
    const render = compile(node);
    return (scope, out) => {
      const v = render(scope);
      if (v === NO) return false;
      out.push(v);
      return true;
    };
  }
  const { $when, $data, ...rest } = node as Record<string, unknown>;
  if ($when !== undefined && $data !== undefined) throw new NotCompilable('$when with $data');
  const body = compileObject(rest);
  if ($when !== undefined) {
    const flag = wholeName($when, '$when');
    return (scope, out) => {
      const v = own(scope, flag);
      if (typeof v !== 'boolean') return false;
      if (!v) return true;
      const item = body(scope);
      if (item === NO) return false;
      out.push(item);
      return true;
    };
  }
  const list = wholeName($data, '$data');
  return (scope, out) => {
    const v = own(scope, list);
    if (!Array.isArray(v)) return false;
    for (const element of v) {
      if (!element || typeof element !== 'object' || Array.isArray(element)) return false;
      const item = body(element as Scope);
      if (item === NO) return false;
      out.push(item);
    }
    return true;
  };
}

function compile(node: unknown): Render {
  if (typeof node === 'string') return compileString(node);
  if (node === null || typeof node !== 'object') return () => node;
  if (Array.isArray(node)) {
    const items = node.map(compileItem);
    return (scope) => {
      const out: unknown[] = [];
      for (const item of items) if (!item(scope, out)) return NO;
      return out;
    };
  }
  return compileObject(node as Record<string, unknown>);
}

export type FastTemplate = (data: object) => Record<string, unknown> | undefined;

/**
 * The template compiled for the fast path, or undefined when it uses anything outside the subset
 * (then every expansion goes to the library). The expander itself answers undefined for data it
 * cannot expand exactly as the library would.
 */
export function compileTemplate(template: Record<string, unknown>): FastTemplate | undefined {
  let render: Render;
  try {
    render = compileObject(template);
  } catch (err) {
    if (err instanceof NotCompilable) return undefined;
    throw err;
  }
  return (data) => {
    const card = render(data as Scope);
    return card === NO ? undefined : (card as Record<string, unknown>);
  };
}
