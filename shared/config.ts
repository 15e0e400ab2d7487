import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const cache = new Map<z.ZodType, unknown>();

/**
 * Parses the environment variables a part of the product needs, once, and fails with a message
 * that names every missing or malformed variable. Each area declares only what it uses, so a
 * function never needs configuration for features it does not run.
 */
export function readConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  if (env === process.env && cache.has(schema)) return cache.get(schema) as z.infer<S>;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  if (env === process.env) cache.set(schema, parsed.data);
  return parsed.data;
}

/** Clears cached configuration; tests and the local runtime change the environment at run time. */
export function resetConfigCache(): void {
  cache.clear();
}

export const nonEmpty = z.string().trim().min(1);
