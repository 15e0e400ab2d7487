// What a local runtime (npm start) says about itself at GET /_dev/runtime: the ops CLIs read it
// to find the queues, the SQS endpoint and the admin credential when no deployed stack is named.

export interface RuntimeInfo {
  sqsEndpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  queueUrl?: string;
  dlqUrl?: string;
  eventsQueueUrl?: string;
  eventsDlqUrl?: string;
  /** Only while the runtime signs with the built-in sandbox's generated secret. */
  webhookSecret?: string;
  adminCredentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Where npm start listens: PORT, else 3000. */
export function defaultLocalApiUrl(env: NodeJS.ProcessEnv): string {
  return `http://127.0.0.1:${env.PORT || 3000}`;
}

/**
 * GET `${apiUrl}/_dev/runtime`, waiting at most 3 s. Throws the underlying failure (no answer,
 * or `it answered <status>`); each caller words its own message around it.
 */
export async function fetchRuntimeInfo(
  apiUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<RuntimeInfo> {
  const res = await fetchImpl(`${apiUrl}/_dev/runtime`, { signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`it answered ${res.status}`);
  return (await res.json()) as RuntimeInfo;
}
