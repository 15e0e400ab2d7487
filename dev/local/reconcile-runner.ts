// Reconciliation in `npm start`: a pass every RECONCILE_EVERY (0 = never), and one on demand at
// POST /_dev/reconcile (what `npm run reconcile` calls). Each pass is an invocation of the real
// reconcile handler, as EventBridge Scheduler would make it.
import type { IncomingMessage } from 'node:http';
import type { ReconcileSummary } from '../../shared/reconcile/pass';
import type { HandlerResolver } from './function-handlers';
import { functionTimeoutSeconds } from './function-handlers';
import type { HttpResponse } from './http-api-result';
import { createLambdaContext, invokeWithTimeout } from './lambda-context';

export const RECONCILE_PATH = '/_dev/reconcile';
export const DEFAULT_RECONCILE_EVERY = '5m';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `5m`, `1h`, `500ms` or `0` as milliseconds; throws naming the variable and the value. */
export function parseDuration(name: string, text: string): number {
  const match = /^\s*(\d+)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match)
    throw new Error(`${name} must be a duration such as 30s, 5m or 1h (0 turns it off), got "${text}"`);
  const amount = Number(match[1]);
  if (amount === 0) return 0;
  if (!match[2]) throw new Error(`${name} needs a unit (ms, s, m or h), got "${text}"`);
  return amount * (UNITS[match[2]] as number);
}

export interface ReconcileRunner {
  /** Answers POST /_dev/reconcile with the pass's summary; undefined for any other request. */
  endpoint(req: IncomingMessage): Promise<HttpResponse | undefined>;
  stop(): Promise<void>;
}

export function startReconcileRunner(options: {
  resolveHandler: HandlerResolver;
  everyMs: number;
  log: (line: string) => void;
  warn: (line: string) => void;
}): ReconcileRunner {
  const running = new Set<Promise<unknown>>();
  const pass = (why: string): Promise<ReconcileSummary> => {
    const timeoutSeconds = functionTimeoutSeconds('reconcile');
    const run = invokeWithTimeout('reconcile', timeoutSeconds, async () => {
      const handler = await options.resolveHandler('reconcile');
      const context = createLambdaContext({ functionName: 'reconcile', timeoutSeconds });
      return (await handler({ source: why }, context)) as ReconcileSummary;
    });
    running.add(run);
    void run
      .then(
        (s) =>
          options.log(
            `reconcile (${why}): checked ${s.checked}, changed ${s.changed}, failed ${s.failed}, still due ${s.stillDue}`,
          ),
        (error: unknown) => options.warn(`[reconcile] ${(error as Error)?.stack ?? String(error)}`),
      )
      .finally(() => running.delete(run));
    return run;
  };

  let timer: NodeJS.Timeout | undefined;
  let scheduled: Promise<unknown> | undefined;
  if (options.everyMs > 0) {
    timer = setInterval(() => {
      // A pass still running when the next is due is not doubled up: the next tick catches up.
      if (scheduled) return;
      scheduled = pass('every RECONCILE_EVERY')
        .catch(() => undefined)
        .finally(() => {
          scheduled = undefined;
        });
    }, options.everyMs);
    timer.unref();
  }

  return {
    async endpoint(req) {
      if ((req.url ?? '').split('?')[0] !== RECONCILE_PATH) return undefined;
      if (req.method !== 'POST') {
        return json(405, { message: `${RECONCILE_PATH} takes POST` });
      }
      try {
        return json(200, await pass('npm run reconcile'));
      } catch (error) {
        return json(500, { message: `The reconciliation pass failed: ${(error as Error).message}` });
      }
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}

function json(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}
