import type { AnySchema, Output } from './validation';
import * as z from './validation';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const cache = new Map<AnySchema, unknown>();

// The local runtime and the tests change process.env at run time, then resetConfigCache(). A
// function served from its esbuild bundle (`npm start -- --bundled`, the end-to-end tests) holds
// its own copy of this module, out of reach of that call; so the reset also bumps a counter kept
// in the process-wide symbol registry, which every copy checks before trusting its cache. On
// Lambda nothing bumps it: one read per cold start, as before.
const GENERATION = Symbol.for('iap-backend.config-generation');
type WithGeneration = typeof globalThis & { [GENERATION]?: number };
const currentGeneration = () => (globalThis as WithGeneration)[GENERATION] ?? 0;
let cachedGeneration = currentGeneration();

const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** An environment variable checked by `schema`, a blank value counting as unset (a template may leave it empty). */
export const unlessBlank = <T extends z.ZodMiniType>(schema: T) => z.pipe(z.transform(blankAsUnset), schema);

/** A number read from its environment string, then checked by its shared definition. */
export const numberSetting = (schema: z.ZodMiniType<number, number>) => z.pipe(z.coerce.number(), schema);

/**
 * Parses the environment variables a part of the product needs, once, and fails with a message
 * that names every missing or malformed variable. Each area declares only what it uses, so a
 * function never needs configuration for features it does not run.
 */
export function readConfig<S extends AnySchema>(schema: S, env: NodeJS.ProcessEnv = process.env): Output<S> {
  if (cachedGeneration !== currentGeneration()) {
    cache.clear();
    cachedGeneration = currentGeneration();
  }
  if (env === process.env && cache.has(schema)) return cache.get(schema) as Output<S>;
  const parsed = z.safeParse(schema, env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  if (env === process.env) cache.set(schema, parsed.data);
  return parsed.data as Output<S>;
}

/**
 * Clears cached configuration, in this copy of the module and in every bundled copy loaded in the
 * process; tests and the local runtime change the environment at run time.
 */
export function resetConfigCache(): void {
  cache.clear();
  (globalThis as WithGeneration)[GENERATION] = currentGeneration() + 1;
  cachedGeneration = currentGeneration();
}

/** A required, trimmed, non-blank setting (zod/mini). */
export const requiredSetting = z.string().check(z.trim(), z.minLength(1));
