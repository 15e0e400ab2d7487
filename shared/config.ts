import type { AnySchema, Output } from './validation';
import * as z from './validation';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const cache = new Map<AnySchema, unknown>();

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
