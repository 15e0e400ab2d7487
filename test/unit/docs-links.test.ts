// The documentation holds together: every relative link of the README and docs/ leads to a file
// that exists (and to a heading in it, when it names one), and every section a code comment cites
// as "contract §3.2" or "architecture §4" is a numbered heading of docs/contract.md or
// docs/architecture.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CODE_ROOTS = ['functions', 'shared', 'infra', 'dev', 'ops', 'bench', 'test'];

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return filesUnder(path, suffix);
    return path.endsWith(suffix) ? [path] : [];
  });
}

/** Markdown without its fenced code blocks, where a `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1\s*$/gm, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

function headingsOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/^#{1,6} (.+)$/gm)].map((m) => (m[1] ?? '').trim());
}

function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const heading of headingsOf(markdown)) {
    const slug = slugOf(heading);
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

const pages = [join(ROOT, 'README.md'), ...filesUnder(join(ROOT, 'docs'), '.md')];

describe('README and docs/ links', () => {
  it('finds the pages', () => {
    expect(pages.map((p) => relative(ROOT, p))).toEqual(
      expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/contract.md']),
    );
  });

  it.each(pages.map((p) => [relative(ROOT, p), p]))('%s: every relative link resolves', (_name, page) => {
    const text = prose(readFileSync(page, 'utf8'));
    const broken: string[] = [];
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? page : join(dirname(page), path);
      if (!existsSync(file)) {
        broken.push(`${target}: no file ${relative(ROOT, file)}`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor))
        broken.push(`${target}: no heading #${anchor} in ${relative(ROOT, file)}`);
    }
    expect(broken).toEqual([]);
  });

  it('computes anchors as GitHub does', () => {
    expect(slugOf('1. SDK → backend')).toBe('1-sdk--backend');
    expect(slugOf('6.13 RENEWAL_EXTENSION.FAILURE')).toBe('613-renewal_extensionfailure');
    expect(slugOf('Run it locally: `npm start`')).toBe('run-it-locally-npm-start');
  });
});

describe('section citations in code', () => {
  const cited = CODE_ROOTS.flatMap((root) => filesUnder(join(ROOT, root), '.ts')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [
      ...text.matchAll(/\b(contract|architecture) ((?:§\d+(?:\.\d+)*(?:\s*[,–-]\s*|\s+and\s+)?)+)/g),
    ].flatMap((m) =>
      [...(m[2] ?? '').matchAll(/§(\d+(?:\.\d+)*)/g)].map((n) => ({
        where: relative(ROOT, file),
        doc: m[1] as 'contract' | 'architecture',
        section: n[1] ?? '',
      })),
    );
  });

  const numbered = (doc: string) =>
    new Set(
      headingsOf(readFileSync(join(ROOT, 'docs', `${doc}.md`), 'utf8')).flatMap((h) => {
        const number = /^(\d+(?:\.\d+)*)\.? /.exec(h)?.[1];
        return number ? [number] : [];
      }),
    );

  it('every cited section is a numbered heading of its page', () => {
    const sections = { contract: numbered('contract'), architecture: numbered('architecture') };
    const missing = cited.filter((c) => !sections[c.doc].has(c.section));
    expect(cited.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });
});
