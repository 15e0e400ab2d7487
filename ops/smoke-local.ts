// The smoke target for a running `npm start`: found like `npm run dlq` finds it, by PORT (or
// --api-url), through the description it serves at /_dev/runtime. There are no alarms locally.
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { defaultLocalApiUrl, fetchRuntimeInfo, type RuntimeInfo } from './local-runtime-info';
import type { QueueName, SmokeTarget } from './smoke-checks';

export class LocalRuntimeNotFoundError extends Error {}

export interface LocalSmokeTarget extends SmokeTarget {
  close(): void;
}

/** The attributes that together say how many messages a queue still holds. */
export const DEPTH_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

export async function queueDepthOf(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
  );
  return DEPTH_ATTRIBUTES.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
}

export async function localTarget(
  options: { apiUrl?: string; env: NodeJS.ProcessEnv },
  fetchImpl: typeof fetch = fetch,
): Promise<LocalSmokeTarget> {
  const apiUrl = (options.apiUrl ?? defaultLocalApiUrl(options.env)).replace(/\/+$/, '');
  let info: RuntimeInfo;
  try {
    info = await fetchRuntimeInfo(apiUrl, fetchImpl);
  } catch (error) {
    throw new LocalRuntimeNotFoundError(
      `no local runtime answered at ${apiUrl}/_dev/runtime (${(error as Error).message}): start it with npm start, or pass --api-url / PORT`,
    );
  }
  const { queueUrl, dlqUrl, sqsEndpoint } = info;
  if (!queueUrl || !dlqUrl || !sqsEndpoint)
    throw new LocalRuntimeNotFoundError(
      `${apiUrl}/_dev/runtime did not name the queues and the SQS endpoint`,
    );
  const sqs = new SQSClient({
    endpoint: sqsEndpoint,
    useQueueUrlAsEndpoint: false,
    ...(info.region ? { region: info.region } : {}),
    ...(info.credentials ? { credentials: info.credentials } : {}),
  });
  const queues: Record<QueueName, string> = { queue: queueUrl, dlq: dlqUrl };
  // A runtime started against a real Attesto signs with the secret its shell was given; the
  // same variable in this shell names it (the runtime never serves a secret it was handed).
  const webhookSecret = options.env.ATTESTO_WEBHOOK_SECRET || info.webhookSecret;
  return {
    description: `local runtime at ${apiUrl}`,
    apiUrl,
    webhookUrl: `${apiUrl}/attesto-webhook`,
    async secrets() {
      if (!webhookSecret)
        throw new Error(
          'the local runtime uses a real Attesto: set ATTESTO_WEBHOOK_SECRET in this shell as for npm start',
        );
      return { webhookSecrets: [webhookSecret] };
    },
    queueDepth: (queue) => queueDepthOf(sqs, queues[queue]),
    alarms: async () => 'not-applicable',
    close: () => sqs.destroy(),
  };
}
