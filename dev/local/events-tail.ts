// `npm run events -- tail [--json] [--api-url URL]`: prints the entitlement events the local
// runtime published (its stand-in for the EventBridge bus), the ones of this run so far and then
// each new one as it happens, until Ctrl-C. One line per event; --json prints each event's body
// exactly as a receiver gets it, one JSON document per line.

import { localApiUrl } from './cli';
import { EVENTS_PATH } from './outbound-events-local';

const USAGE = `usage: npm run events -- tail [--json] [--api-url URL]

  tail           print the events published by the running local runtime (npm start), then follow
  --json         one event body per line, exactly as the bus and the webhook receiver get it
  --api-url URL  the local runtime (default http://127.0.0.1:$PORT, PORT=3000)
`;

const POLL_MS = 500;

interface BusEvent {
  index: number;
  receivedAt: string;
  detail: {
    type?: string;
    timestamp?: string;
    data?: {
      userId?: string;
      appUserId?: string;
      sequence?: number;
      entitlements?: unknown;
      cause?: unknown;
    };
  };
}

export class UsageError extends Error {}
export class RuntimeGone extends Error {}

export function parseTailArgs(argv: readonly string[]): { json: boolean; apiUrl: string | undefined } {
  const [command, ...rest] = argv;
  if (command !== 'tail')
    throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
  let json = false;
  let apiUrl: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--api-url' || arg.startsWith('--api-url=')) {
      apiUrl = arg.includes('=') ? arg.slice('--api-url='.length) : rest[++i];
      if (!apiUrl) throw new UsageError('--api-url needs a value');
    } else throw new UsageError(`unknown argument "${arg}"`);
  }
  return { json, apiUrl };
}

/** The line printed for one event without --json. */
export function eventLine(event: BusEvent): string {
  const { type, data } = event.detail ?? {};
  const entitlements = JSON.stringify(data?.entitlements ?? null);
  const cause =
    data?.cause && typeof data.cause === 'object' ? (data.cause as { source?: string }).source : undefined;
  return [
    event.detail?.timestamp ?? event.receivedAt,
    type ?? '?',
    `user=${data?.userId ?? '?'}`,
    `seq=${data?.sequence ?? '?'}`,
    ...(cause ? [`cause=${cause}`] : []),
    `entitlements=${entitlements.length > 300 ? `${entitlements.slice(0, 297)}...` : entitlements}`,
  ].join('  ');
}

export async function tailEvents(options: {
  apiUrl: string;
  json: boolean;
  out: (line: string) => void;
  signal: AbortSignal;
  fetchImpl?: typeof fetch;
}): Promise<void> {
  const doFetch = options.fetchImpl ?? fetch;
  let after = 0;
  let reachable = false;
  while (!options.signal.aborted) {
    try {
      const res = await doFetch(`${options.apiUrl}${EVENTS_PATH}?after=${after}`, { signal: options.signal });
      if (!res.ok) throw new Error(`it answered ${res.status}`);
      const { events } = (await res.json()) as { events: BusEvent[] };
      reachable = true;
      for (const event of events) {
        options.out(options.json ? JSON.stringify(event.detail) : eventLine(event));
        after = Math.max(after, event.index);
      }
    } catch (error) {
      if (options.signal.aborted) return;
      const reason = (error as Error).message;
      if (!reachable)
        throw new UsageError(
          `no local runtime answered at ${options.apiUrl}${EVENTS_PATH} (${reason}); start it with npm start`,
        );
      // Its events went with it: a new run starts counting again, so following on would mislead.
      throw new RuntimeGone(`the local runtime at ${options.apiUrl} stopped answering (${reason})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const abort = new AbortController();
  process.on('SIGINT', () => abort.abort());
  process.on('SIGTERM', () => abort.abort());
  try {
    const args = parseTailArgs(argv);
    const apiUrl = (args.apiUrl ?? localApiUrl()).replace(/\/+$/, '');
    await tailEvents({
      apiUrl,
      json: args.json,
      out: (line) => process.stdout.write(`${line}\n`),
      signal: abort.signal,
    });
    return 0;
  } catch (error) {
    if (error instanceof RuntimeGone) {
      process.stderr.write(`events: ${error.message}\n`);
      return 1;
    }
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`events: ${error.message}\n\n${USAGE}`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().then((code) => {
    process.exit(code);
  });
}
