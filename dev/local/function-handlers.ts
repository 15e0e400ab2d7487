// Loads the real function handlers the way Lambda does: one module per function, imported on
// its first invocation (the cold start) and reused afterwards. The environment must be complete
// before the first import, because handlers read their configuration at module load.
import { compileFunction, constants as vmConstants } from 'node:vm';
import type { Context } from 'aws-lambda';
import { type FunctionName, functions, timeoutSecondsOf } from '../../infra/functions';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
export type HandlerResolver = (fn: FunctionName) => Promise<LambdaHandler>;

export function functionTimeoutSeconds(fn: FunctionName): number {
  return timeoutSecondsOf(functions[fn]);
}

/**
 * Node's own import, out of reach of any loader that rewrites modules (vitest's runner): a bundle
 * runs exactly as esbuild wrote it, as it does on Lambda.
 */
export const importNatively = compileFunction('return import(url)', ['url'], {
  importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
}) as (url: string) => Promise<unknown>;

/** The functions' esbuild bundles (function-bundles.ts) instead of their TypeScript sources. */
export function bundledHandlerResolver(entries: Record<FunctionName, string>): HandlerResolver {
  return functionHandlerResolver((fn) => entries[fn], importNatively);
}

export function functionHandlerResolver(
  handlerUrl: (fn: FunctionName) => string = (fn) =>
    new URL(`../../functions/${fn}/handler.ts`, import.meta.url).href,
  load: (url: string) => Promise<unknown> = (url) => import(url),
): HandlerResolver {
  const modules = new Map<FunctionName, Promise<LambdaHandler>>();
  return (fn) => {
    let loading = modules.get(fn);
    if (!loading) {
      const url = handlerUrl(fn);
      loading = load(url).then((loaded) => {
        const mod = loaded as { handler?: unknown };
        if (typeof mod.handler !== 'function') {
          throw new Error(`${url} does not export a function named handler`);
        }
        return mod.handler as LambdaHandler;
      });
      // A failed import is not cached, so fixing the file and retrying works without a restart.
      loading.catch(() => modules.delete(fn));
      modules.set(fn, loading);
    }
    return loading;
  };
}
