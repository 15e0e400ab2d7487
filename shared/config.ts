import type { AnySchema, Output } from './validation';
import * as z from './validation';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const cache = new Map<AnySchema, unknown>();

/**
 * Parses the environment variables a part of the product needs, once, and fails with a message
 * that names every missing or malformed variable. Each area declares only what it uses, so a
 * function never needs configuration for features it does not run.
 */
export function readConfig<S extends AnySchema>(schema: S, env: NodeJS.ProcessEnv = process.env): Output<S> {
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

/** Clears cached configuration; tests and the local runtime change the environment at run time. */
export function resetConfigCache(): void {
  cache.clear();
}

/** A required, trimmed, non-blank setting (zod/mini). */
export const requiredSetting = z.string().check(z.trim(), z.minLength(1));
