// Loads the real function handlers the way Lambda does: one module per function, imported on
// its first invocation (the cold start) and reused afterwards. The environment must be complete
// before the first import, because handlers read their configuration at module load.
import type { Context } from 'aws-lambda';
import { type FunctionName, functions, timeoutSecondsOf } from '../../infra/functions';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
export type HandlerResolver = (fn: FunctionName) => Promise<LambdaHandler>;

export function functionTimeoutSeconds(fn: FunctionName): number {
  return timeoutSecondsOf(functions[fn]);
}

export function functionHandlerResolver(
  handlerUrl: (fn: FunctionName) => string = (fn) =>
    new URL(`../../functions/${fn}/handler.ts`, import.meta.url).href,
): HandlerResolver {
  const modules = new Map<FunctionName, Promise<LambdaHandler>>();
  return (fn) => {
    let loading = modules.get(fn);
    if (!loading) {
      loading = import(handlerUrl(fn)).then((mod: { handler?: unknown }) => {
        if (typeof mod.handler !== 'function') {
          throw new Error(`functions/${fn}/handler.ts does not export a function named handler`);
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
