/**
 * List answers: OData `$filter` on resources and groups, and paging through nextLink/$skiptoken.
 * The filter rules are ARM's: eq/ne on resourceType, name, location, resourceGroup; substringof(x, name);
 * tagName with an optional tagValue, which cannot be combined with anything else and hides each item's
 * tags in the answer.
 */
import type { SandboxContext } from '../context';
import { armErrors, type SandboxRequest } from '../http';

export interface FilterTarget {
  type?: string;
  name: string;
  location: string;
  resourceGroup?: string;
  tags: Record<string, string>;
}

export interface ParsedFilter {
  test(item: FilterTarget): boolean;
  /** ARM leaves tags out of the items when the filter is on tags. */
  byTag: boolean;
}

const CLAUSE = /^(resourceType|name|location|resourceGroup|tagName|tagValue)\s+(eq|ne)\s+'((?:[^']|'')*)'$/i;
const SUBSTRING = /^substringof\(\s*'((?:[^']|'')*)'\s*,\s*name\s*\)$/i;

export function parseFilter(filter: string | null): ParsedFilter {
  if (!filter) return { test: () => true, byTag: false };
  const invalid = () => armErrors.badRequest('InvalidFilterInQueryString', `Invalid $filter '${filter}' specified in the query string.`);
  const tests: ((item: FilterTarget) => boolean)[] = [];
  let tagName: string | undefined;
  let tagValue: string | undefined;
  let others = 0;
  for (const clause of filter.split(/\s+and\s+/i).map((c) => c.trim())) {
    const sub = SUBSTRING.exec(clause);
    if (sub) {
      const needle = unquote(sub[1]).toLowerCase();
      tests.push((i) => i.name.toLowerCase().includes(needle));
      others++;
      continue;
    }
    const m = CLAUSE.exec(clause);
    if (!m) throw invalid();
    const field = m[1].toLowerCase();
    const value = unquote(m[3]);
    if (field === 'tagname') tagName = value;
    else if (field === 'tagvalue') tagValue = value;
    else {
      const negate = m[2].toLowerCase() === 'ne';
      const pick = (i: FilterTarget) => ({ resourcetype: i.type, name: i.name, location: i.location, resourcegroup: i.resourceGroup })[field];
      tests.push((i) => ((pick(i) ?? '').toLowerCase() === value.toLowerCase()) !== negate);
      others++;
    }
  }
  if (tagValue !== undefined && tagName === undefined) throw invalid();
  if (tagName !== undefined) {
    if (others > 0) throw invalid();
    const name = tagName.toLowerCase();
    tests.push((i) =>
      Object.entries(i.tags).some(([k, v]) => k.toLowerCase() === name && (tagValue === undefined || v === tagValue)),
    );
  }
  return { test: (item) => tests.every((t) => t(item)), byTag: tagName !== undefined };
}

function unquote(s: string): string {
  return s.replace(/''/g, "'");
}

/** One page of `items` and, when more remain, a nextLink carrying $skiptoken. */
export function page<T>(req: SandboxRequest, ctx: SandboxContext, items: T[]): { value: T[]; nextLink?: string } {
  const skip = Number(req.query.get('$skiptoken') ?? '0') || 0;
  const top = Number(req.query.get('$top') ?? '0');
  const size = top > 0 ? Math.min(top, ctx.pageSize) : ctx.pageSize;
  const value = items.slice(skip, skip + size);
  if (skip + size >= items.length) return { value };
  const next = new URLSearchParams(req.query);
  next.set('$skiptoken', String(skip + size));
  return { value, nextLink: `${req.baseUrl}${req.path}?${next.toString()}` };
}
