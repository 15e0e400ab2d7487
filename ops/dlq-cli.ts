// `npm run dlq -- list | redrive`: look at the webhook dead-letter queue and move its messages back
// to the webhook queue, on the local runtime or a deployed stack. With --events, the same for the
// outbound entitlement webhooks (their FIFO queue and DLQ).
//
// Where the queues are, first match wins:
//   1. --queue-url / --dlq-url (and --endpoint, --region) flags;
//   2. WEBHOOK_QUEUE_URL / WEBHOOK_DLQ_URL (and AWS_ENDPOINT_URL_SQS, AWS_REGION) in the environment;
//   3. the running local runtime, which describes itself at GET <api>/_dev/runtime
//      (api: --api-url, else http://127.0.0.1:$PORT, PORT defaulting to 3000).
// On AWS the usual credential chain applies (AWS_PROFILE, …); locally the emulator's dummy ones.
import { SQSClient } from '@aws-sdk/client-sqs';
import { listDeadLetters, redriveDeadLetters } from './dead-letter-queue';
import { defaultLocalApiUrl, fetchRuntimeInfo, type RuntimeInfo } from './local-runtime-info';

const USAGE = `usage: npm run dlq -- <list|redrive> [options]

  list       show the dead-lettered webhooks: id, receive count, event id/type, first bytes
  redrive    move them back to the webhook queue (receive → send → delete) and print the counts

options:
  --dlq-url URL      the dead-letter queue   (else WEBHOOK_DLQ_URL, else the local runtime)
  --queue-url URL    the webhook queue       (else WEBHOOK_QUEUE_URL, else the local runtime)
  --endpoint URL     SQS endpoint            (else AWS_ENDPOINT_URL_SQS; AWS when unset)
  --region REGION    AWS region              (else AWS_REGION)
  --api-url URL      local runtime to ask    (default http://127.0.0.1:$PORT, PORT=3000)
  --limit N          at most N messages      (list: 100 by default; redrive: all)
  --events           the outbound entitlement webhooks instead: EVENTS_WEBHOOK_DLQ_URL and
                     EVENTS_WEBHOOK_QUEUE_URL (stack outputs EventsWebhookDlqUrl, EventsWebhookQueueUrl)
`;

export class UsageError extends Error {}

export interface DlqArgs {
  command: 'list' | 'redrive';
  flags: Partial<Record<'dlq-url' | 'queue-url' | 'endpoint' | 'region' | 'api-url' | 'limit', string>> & {
    /** Present (`'yes'`) for the outbound entitlement webhooks' queues. */
    events?: 'yes';
  };
}

const FLAGS = new Set(['dlq-url', 'queue-url', 'endpoint', 'region', 'api-url', 'limit']);

export function parseDlqArgs(argv: readonly string[]): DlqArgs {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'redrive') {
    throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
  }
  const flags: DlqArgs['flags'] = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--events') {
      flags.events = 'yes';
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match || !FLAGS.has(match[1] as string)) throw new UsageError(`unknown argument "${arg}"`);
    const name = match[1] as Exclude<keyof DlqArgs['flags'], 'events'>;
    const value = match[2] ?? rest[++i];
    if (value === undefined || value === '' || value.startsWith('--'))
      throw new UsageError(`--${name} needs a value`);
    flags[name] = value;
  }
  if (flags.limit !== undefined && !/^[1-9]\d*$/.test(flags.limit)) {
    throw new UsageError('--limit must be a positive integer');
  }
  return { command, flags };
}

export interface QueueTarget {
  dlqUrl: string;
  queueUrl: string | undefined;
  endpoint: string | undefined;
  region: string | undefined;
  local: boolean;
  /** The emulator's dummy credentials, as the local runtime describes them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  source: string;
}

export async function resolveTarget(
  args: DlqArgs,
  env: NodeJS.ProcessEnv,
  fetchImpl: typeof fetch = fetch,
): Promise<QueueTarget> {
  const events = args.flags.events === 'yes';
  const dlqUrl = args.flags['dlq-url'] ?? (events ? env.EVENTS_WEBHOOK_DLQ_URL : env.WEBHOOK_DLQ_URL);
  const queueUrl = args.flags['queue-url'] ?? (events ? env.EVENTS_WEBHOOK_QUEUE_URL : env.WEBHOOK_QUEUE_URL);
  const endpoint = args.flags.endpoint ?? env.AWS_ENDPOINT_URL_SQS;
  const region = args.flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (dlqUrl && (args.command === 'list' || queueUrl)) {
    return {
      dlqUrl,
      queueUrl,
      endpoint,
      region,
      local: false,
      source: args.flags['dlq-url'] ? 'flags' : 'environment',
    };
  }
  const apiUrl = (args.flags['api-url'] ?? defaultLocalApiUrl(env)).replace(/\/+$/, '');
  let info: RuntimeInfo;
  try {
    info = await fetchRuntimeInfo(apiUrl, fetchImpl);
  } catch (error) {
    const missing = args.command === 'list' ? '--dlq-url' : '--dlq-url and --queue-url';
    throw new UsageError(
      `no queue given (${missing}, or ${events ? 'EVENTS_WEBHOOK_DLQ_URL/EVENTS_WEBHOOK_QUEUE_URL' : 'WEBHOOK_DLQ_URL/WEBHOOK_QUEUE_URL'}) and no local runtime answered at ${apiUrl}/_dev/runtime (${(error as Error).message}); start it with npm start or pass the URLs`,
    );
  }
  const local = events
    ? { dlqUrl: info.eventsDlqUrl, queueUrl: info.eventsQueueUrl }
    : { dlqUrl: info.dlqUrl, queueUrl: info.queueUrl };
  if (!local.dlqUrl || !local.queueUrl || !info.sqsEndpoint) {
    throw new UsageError(`${apiUrl}/_dev/runtime did not name the queues and the SQS endpoint`);
  }
  return {
    dlqUrl: dlqUrl ?? local.dlqUrl,
    queueUrl: queueUrl ?? local.queueUrl,
    endpoint: args.flags.endpoint ?? info.sqsEndpoint,
    region: args.flags.region ?? info.region,
    local: true,
    ...(info.credentials ? { credentials: info.credentials } : {}),
    source: `local runtime at ${apiUrl}`,
  };
}

function sqsClientFor(target: QueueTarget): SQSClient {
  return new SQSClient({
    useQueueUrlAsEndpoint: false,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.region ? { region: target.region } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  });
}

export async function runDlqCli(
  argv: readonly string[],
  io: { out: (line: string) => void; err: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let args: DlqArgs;
  let target: QueueTarget;
  try {
    args = parseDlqArgs(argv);
    target = await resolveTarget(args, io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`dlq: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const sqs = sqsClientFor(target);
  const limit = args.flags.limit ? Number(args.flags.limit) : undefined;
  try {
    if (args.command === 'list') {
      const letters = await listDeadLetters(sqs, target.dlqUrl, limit ?? 100);
      io.out(`${letters.length} message(s) in ${target.dlqUrl} (${target.source})`);
      for (const l of letters) {
        io.out(
          [
            l.messageId,
            `receives=${l.receiveCount}`,
            `eventId=${l.eventId ?? '-'}`,
            `event=${l.eventType ?? '-'}`,
            JSON.stringify(l.preview),
          ].join('  '),
        );
      }
      return 0;
    }
    const result = await redriveDeadLetters(sqs, {
      dlqUrl: target.dlqUrl,
      queueUrl: target.queueUrl as string,
      ...(limit ? { limit } : {}),
    });
    io.out(
      `redrive: ${result.moved} moved to ${target.queueUrl}, ${result.failed} failed (still in the DLQ)`,
    );
    return result.failed ? 1 : 0;
  } catch (error) {
    io.err(`dlq: ${(error as Error).name}: ${(error as Error).message}`);
    return 1;
  } finally {
    sqs.destroy();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runDlqCli(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
