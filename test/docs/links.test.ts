/**
 * The documentation is a map: README.md points into docs/, bench/ and deploy/, and they point at each
 * other. Every relative link must reach a file that exists and, with an #anchor, a heading that exists
 * there (GitHub's slugs), so a moved or renamed section breaks this test instead of a reader's click.
 *
 * No markdown parser is installed, so this reads the subset of CommonMark our docs use: fenced code
 * blocks and inline code are skipped, links are inline `[text](target)` / `![alt](target)` (text may
 * span lines) or reference definitions `[label]: target`, headings are ATX (`#` to `######`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The markdown files whose links must hold, relative to the repository root. */
function documentationFiles(root: string): string[] {
  const docs = fs.existsSync(path.join(root, 'docs'))
    ? fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))
    : [];
  return ['README.md', ...docs, path.join('bench', 'README.md'), path.join('deploy', 'README.md')].filter((f) => fs.existsSync(path.join(root, f)));
}

/** Blanks out fenced code blocks and HTML comments, keeping every newline so line numbers stay right. */
function withoutCodeBlocks(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const noComments = text.replace(/<!--[\s\S]*?-->/g, blank);
  const lines = noComments.split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === undefined) {
        if (opener) {
          fence = opener[1];
          return blank(line);
        }
        return line;
      }
      if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length && line.trim() === opener[1]) fence = undefined;
      return blank(line);
    })
    .join('\n');
}

/** Blanks out inline code spans (`x`, ``x``): a path in backticks is not a link. */
function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)[\s\S]*?\1/g, (s) => s.replace(/[^\n]/g, ' '));
}

/**
 * GitHub's heading slug: the heading's text as rendered (code and emphasis markers dropped, links
 * reduced to their text), lowercased, punctuation removed except `-` and `_`, each space a `-`.
 */
function githubSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown file offers: its headings' slugs (repeats get -1, -2, ...) and HTML ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1]);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s[^>]*(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

interface Link {
  target: string;
  line: number;
}

/** The link targets of a markdown file, outside code, with their line numbers. */
function linksOf(markdown: string): Link[] {
  const text = withoutCodeSpans(withoutCodeBlocks(markdown));
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  // [text](target "title"), text possibly with one level of nested brackets and line breaks.
  const inline = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
  for (const m of text.matchAll(inline)) links.push({ target: m[1].replace(/^<|>$/g, ''), line: lineAt(m.index) });
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) links.push({ target: m[1].replace(/^<|>$/g, ''), line: lineAt(m.index) });
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** Every broken relative link or anchor in the given files (paths relative to root), in words. */
function brokenLinks(root: string, files: string[]): string[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(fs.readFileSync(file, 'utf8')));
    return anchorCache.get(file)!;
  };
  const problems: string[] = [];
  for (const file of files) {
    const absolute = path.join(root, file);
    for (const { target, line } of linksOf(fs.readFileSync(absolute, 'utf8'))) {
      if (isExternal(target)) continue;
      const where = `${file}:${line}: ${target}`;
      const hash = target.indexOf('#');
      const filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const linked = filePart === '' ? absolute : path.resolve(path.dirname(absolute), filePart);
      if (!fs.existsSync(linked)) {
        problems.push(`${where}: no file ${path.relative(root, linked)}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!linked.endsWith('.md') || !fs.statSync(linked).isFile()) {
        problems.push(`${where}: an anchor into ${path.relative(root, linked)}, which is not a markdown file`);
      } else if (!anchorsIn(linked).has(anchor)) {
        problems.push(`${where}: no heading with the anchor #${anchor} in ${path.relative(root, linked)}`);
      }
    }
  }
  return problems;
}

describe('documentation links', () => {
  describe('GitHub heading slugs', () => {
    it('lowercases, drops punctuation and code marks, and turns spaces into hyphens', () => {
      assert.equal(githubSlug('Settings (environment variables)'), 'settings-environment-variables');
      assert.equal(githubSlug('The `countersign` command'), 'the-countersign-command');
      assert.equal(githubSlug("Azure's errors in words"), 'azures-errors-in-words');
      assert.equal(githubSlug('6. Configure Countersign (`COUNTERSIGN_CONFIG`)'), '6-configure-countersign-countersign_config');
      assert.equal(githubSlug('Background work: expiry, execution, checkpoints'), 'background-work-expiry-execution-checkpoints');
    });

    it('numbers repeated headings and ignores lines in code blocks', () => {
      const anchors = anchorsOf('# Logs\n\n## Logs\n\n```bash\n# Not a heading\n```\n');
      assert.deepEqual([...anchors].sort(), ['logs', 'logs-1']);
    });
  });

  describe('the checker', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-links-'));
      fs.mkdirSync(path.join(dir, 'docs'));
      fs.writeFileSync(path.join(dir, 'docs', 'guide.md'), '# Guide\n\n## Settings (environment variables)\n');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('accepts links that reach an existing file and heading', () => {
      fs.writeFileSync(path.join(dir, 'README.md'), '# Map\n\nSee [the settings](docs/guide.md#settings-environment-variables), [the\nguide](docs/guide.md) and [this](#map).\n');
      assert.deepEqual(brokenLinks(dir, documentationFiles(dir)), []);
    });

    it('names a link to a missing file and an anchor with no heading, with their lines', () => {
      fs.writeFileSync(path.join(dir, 'README.md'), '# Map\n\n[gone](docs/gone.md)\n\n[moved](docs/guide.md#settings)\n');
      assert.deepEqual(brokenLinks(dir, documentationFiles(dir)), [
        'README.md:3: docs/gone.md: no file docs/gone.md',
        'README.md:5: docs/guide.md#settings: no heading with the anchor #settings in docs/guide.md',
      ]);
    });

    it('ignores external links and anything in code', () => {
      fs.writeFileSync(path.join(dir, 'README.md'), '# Map\n\n[web](https://example.com/x.md#y) `[not](a-link.md)`\n\n```md\n[also not](b.md)\n```\n');
      assert.deepEqual(brokenLinks(dir, documentationFiles(dir)), []);
    });
  });

  it('every relative link and anchor in README.md, docs/, bench/ and deploy/ resolves', () => {
    const files = documentationFiles(ROOT);
    assert.ok(files.includes('README.md') && files.includes(path.join('docs', 'architecture.md')), `documentation files found: ${files.join(', ')}`);
    assert.deepEqual(brokenLinks(ROOT, files), []);
  });

  it('names only source files that exist (a moved file breaks this test, not a reader)', () => {
    const missing: string[] = [];
    for (const file of documentationFiles(ROOT)) {
      // The architecture page's table of the old layout names old paths on purpose.
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8').split('## If you knew the old layout')[0];
      // In code or in plain words ("(src/audit/formats/jsonl.ts)"), but not inside a longer path or a URL.
      for (const m of text.matchAll(/(?<![\w./-])((?:src|test|bench|scripts)\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:ts|js|json))(?![\w/-])/g)) {
        const generated = m[1] === 'bench/results.json'; // written by `npm run bench`, git-ignored
        if (!generated && !fs.existsSync(path.join(ROOT, m[1]))) missing.push(`${file}: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('keeps the README a map, under 14,000 bytes', () => {
    const bytes = fs.statSync(path.join(ROOT, 'README.md')).size;
    assert.ok(bytes <= 14_000, `README.md is ${bytes} bytes; move detail into docs/`);
  });
});
