import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Imports only go down: what ships (shared/, functions/) never reaches for the stack, the tooling
// or the tests, so a Lambda bundle holds only what runs in it and each room can be read on its own.
// The DLQ CLI may use the local runtime's constants: its default target is the local queue.
const FORBIDDEN: Record<string, readonly string[]> = {
  shared: ['functions', 'infra', 'dev', 'ops', 'test', 'bench'],
  functions: ['infra', 'dev', 'ops', 'test', 'bench'],
  infra: ['dev', 'ops', 'test', 'bench'],
  dev: ['ops', 'test', 'bench'],
  ops: ['dev', 'test', 'bench'],
  bench: ['test'],
};

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Relative import specifiers of a TypeScript source, static and dynamic, outside comments. */
function relativeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  for (const match of code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*(['"])(\.{1,2}\/[^'"]+)\1/g)) {
    specifiers.push(match[2] as string);
  }
  return specifiers;
}

/** Every import that reaches a room above the importing file's room, as `file imports 'x' (room/ → room/)`. */
function layeringViolations(files: ReadonlyMap<string, string>): string[] {
  const violations: string[] = [];
  for (const [file, source] of files) {
    const room = file.split('/')[0] as string;
    const forbidden = FORBIDDEN[room] ?? [];
    for (const specifier of relativeSpecifiers(source)) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const targetRoom = target.split('/')[0] as string;
      if (forbidden.includes(targetRoom)) {
        violations.push(`${file} imports '${specifier}' (${room}/ may not import ${targetRoom}/)`);
      }
    }
  }
  return violations;
}

function repositorySources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const room of Object.keys(FORBIDDEN)) {
    const entries = readdirSync(join(REPO_ROOT, room), { recursive: true, encoding: 'utf8' });
    for (const entry of entries) {
      if (!entry.endsWith('.ts') || entry.split(/[\\/]/).includes('node_modules')) continue;
      const file = posix.join(room, entry.split(/[\\/]/).join('/'));
      files.set(file, readFileSync(join(REPO_ROOT, file), 'utf8'));
    }
  }
  return files;
}

describe('layering: imports only go down', () => {
  it('no file imports a room above its own', () => {
    const files = repositorySources();
    expect(files.size).toBeGreaterThan(100);
    expect(layeringViolations(files)).toEqual([]);
  });

  it('names the file and the import that reach upward, static or dynamic', () => {
    const files = new Map([
      ['shared/store/purchases.ts', "import { BY_USER_INDEX } from '../../infra/resources';\n"],
      ['functions/verify/handler.ts', "const m = await import('../../dev/sandbox/server');\n"],
      ['bench/requests.ts', "import type { X } from '../test/support/api-event';\n"],
      ['dev/local/start.ts', "import { a } from '../../infra/functions';\n"],
      ['shared/validation.ts', "// `import * as z from '../test/x'`\n/* import '../infra/y' */\n"],
    ]);
    expect(layeringViolations(files)).toEqual([
      "shared/store/purchases.ts imports '../../infra/resources' (shared/ may not import infra/)",
      "functions/verify/handler.ts imports '../../dev/sandbox/server' (functions/ may not import dev/)",
      "bench/requests.ts imports '../test/support/api-event' (bench/ may not import test/)",
    ]);
  });
});
