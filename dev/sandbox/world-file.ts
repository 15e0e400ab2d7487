import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WorldState } from './world-types';

// The world's data file: one JSON document, replaced atomically (write a sibling, then rename) so
// a crash mid-write never leaves half a world behind.

export function loadWorldState(path: string): WorldState | null {
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<WorldState>;
  if (parsed.formatVersion !== 1 || !Array.isArray(parsed.purchases) || !Array.isArray(parsed.webhooks)) {
    throw new Error(`${path} is not an Attesto sandbox data file (formatVersion 1)`);
  }
  return parsed as WorldState;
}

export function saveWorldState(path: string, state: WorldState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, path);
}
