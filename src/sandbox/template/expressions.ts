/**
 * ARM template language expressions: `[function(args)]` strings, with property access (`.name`) and
 * indexing (`[0]`), string literals in single quotes ('' escapes a quote) and numbers. Which functions
 * exist is decided by the caller; an unknown one is an error, as in ARM.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Node =
  | { kind: 'literal'; value: string | number }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

export type TemplateFunction = (args: unknown[]) => unknown;

/** A string that ARM evaluates: `[...]`, except `[[...` which is a literal starting with `[`. */
function isExpression(value: string): boolean {
  return value.startsWith('[') && value.endsWith(']') && !value.startsWith('[[');
}

/** Evaluates every expression inside a JSON value (strings, arrays, object values). */
export function evaluateValue(value: unknown, functions: Record<string, TemplateFunction>): unknown {
  if (typeof value === 'string') {
    if (isExpression(value)) return evaluateExpression(value.slice(1, -1), functions);
    return value.startsWith('[[') ? value.slice(1) : value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluateValue(v, functions));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluateValue(v, functions)]));
  }
  return value;
}

function evaluateExpression(text: string, functions: Record<string, TemplateFunction>): unknown {
  const parser = new Parser(tokenize(text), text);
  const node = parser.parseAll();
  return evaluate(node, functions);
}

function evaluate(node: Node, functions: Record<string, TemplateFunction>): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'call': {
      const fn = functions[node.name.toLowerCase()];
      if (!fn) {
        throw new TemplateError(`The template function '${node.name}' is not valid. Please see https://aka.ms/arm-functions for usage details.`);
      }
      return fn(node.args.map((a) => evaluate(a, functions)));
    }
    case 'property':
      return property(evaluate(node.target, functions), node.name);
    case 'index': {
      const target = evaluate(node.target, functions);
      const index = evaluate(node.index, functions);
      if (Array.isArray(target) && typeof index === 'number') {
        if (index < 0 || index >= target.length) throw new TemplateError(`The language expression array index '${index}' is out of bounds.`);
        return target[index];
      }
      if (typeof index === 'string') return property(target, index);
      throw new TemplateError(`The language expression cannot index a value of type '${typeof target}' with '${String(index)}'.`);
    }
  }
}

/** ARM property access is case-insensitive. */
function property(target: unknown, name: string): unknown {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw new TemplateError(`The language expression property '${name}' can't be evaluated: the value is not an object.`);
  }
  const key = Object.keys(target).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) {
    throw new TemplateError(
      `The language expression property '${name}' doesn't exist, available properties are '${Object.keys(target).join(', ')}'.`,
    );
  }
  return (target as Record<string, unknown>)[key];
}

// ---- tokenizer and parser -----------------------------------------------------------------------------

type Token = { type: 'ident' | 'string' | 'number' | 'punct'; text: string; value?: string | number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new TemplateError(`The language expression '${text}' has an unterminated string literal.`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ type: 'string', text: value, value });
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!m) throw new TemplateError(`The language expression '${text}' is not valid at position ${i}.`);
      tokens.push({ type: 'number', text: m[0], value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'ident', text: m[0] });
      i += m[0].length;
    } else if ('(),.[]'.includes(c)) {
      tokens.push({ type: 'punct', text: c });
      i++;
    } else {
      throw new TemplateError(`The language expression '${text}' is not valid: unexpected character '${c}' at position ${i}.`);
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parseAll(): Node {
    const node = this.parseExpression();
    if (this.pos < this.tokens.length) this.fail(`unexpected '${this.tokens[this.pos].text}'`);
    return node;
  }

  private parseExpression(): Node {
    let node = this.parsePrimary();
    for (;;) {
      if (this.accept('.')) {
        const name = this.next();
        if (name?.type !== 'ident') this.fail('a property name must follow "."');
        node = { kind: 'property', target: node, name: name.text };
      } else if (this.accept('[')) {
        const index = this.parseExpression();
        this.expect(']');
        node = { kind: 'index', target: node, index };
      } else {
        return node;
      }
    }
  }

  private parsePrimary(): Node {
    const token = this.next();
    if (!token) return this.fail('the expression ends too early');
    if (token.type === 'string' || token.type === 'number') return { kind: 'literal', value: token.value as string | number };
    if (token.type !== 'ident') return this.fail(`unexpected '${token.text}'`);
    this.expect('(');
    const args: Node[] = [];
    if (!this.accept(')')) {
      do args.push(this.parseExpression());
      while (this.accept(','));
      this.expect(')');
    }
    return { kind: 'call', name: token.text, args };
  }

  private next(): Token | undefined {
    return this.tokens[this.pos++];
  }

  private accept(punct: string): boolean {
    const t = this.tokens[this.pos];
    if (t?.type === 'punct' && t.text === punct) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(punct: string): void {
    if (!this.accept(punct)) this.fail(`expected '${punct}'`);
  }

  private fail(reason: string): never {
    throw new TemplateError(`The language expression '${this.text}' is not valid: ${reason}.`);
  }
}
