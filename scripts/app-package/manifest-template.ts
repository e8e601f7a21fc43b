/**
 * Fills the committed manifest template. Placeholders are replaced inside string values after
 * parsing (not in the raw text), so a value can never break the JSON around it.
 */

class ManifestTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestTemplateError';
  }
}

const PLACEHOLDER = /\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** JSON Pointer (RFC 6901) of a path, the form schema validation errors use too. */
function pointer(path: (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * Returns a copy of `template` with every `${{NAME}}` replaced by `values[NAME]`.
 * Throws naming each placeholder that has no value and where it sits in the manifest.
 */
export function fillTemplate<T>(template: T, values: Readonly<Record<string, string>>): T {
  const missing: string[] = [];
  const fill = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(PLACEHOLDER, (whole, name: string) => {
        if (Object.hasOwn(values, name)) return values[name];
        missing.push(`${pointer(path)} uses \${{${name}}}`);
        return whole;
      });
    }
    if (Array.isArray(node)) return node.map((item, i) => fill(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fill(value, [...path, key])]));
    }
    return node;
  };
  const filled = fill(template, []) as T;
  if (missing.length > 0) {
    throw new ManifestTemplateError(`manifest.json has placeholders with no value: ${missing.join('; ')}`);
  }
  return filled;
}
