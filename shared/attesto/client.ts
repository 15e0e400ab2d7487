import { readConfig } from '../config';
import { type FieldIssue, InvalidRequestError } from '../http/errors';
import { logger } from '../observability/logger';
import type { SchemaError } from '../validation';
import * as z from '../validation';
import { attestoApiKey } from './credentials';
import {
  AttestoAuthError,
  AttestoBadResponseError,
  type AttestoFailureContext,
  AttestoInvalidRequestError,
  AttestoUnavailableError,
} from './errors';
import {
  type AppleVerifyOk,
  type AppleVerifyRequest,
  appleVerifyOkSchema,
  appleVerifyRequestSchema,
  attestoErrorSchema,
  type GoogleProductOk,
  type GoogleSubscriptionOk,
  type GoogleVerifyRequest,
  googleProductOkSchema,
  googleSubscriptionOkSchema,
  googleVerifyRequestSchema,
  type VerifyRejected,
  verifyRejectedSchema,
} from './schemas';

// Time budget. The SDK gives each attempt 10 s; the handler still needs time for DynamoDB and a
// possible cold start, so the whole Attesto exchange (both attempts and the wait between them)
// must end within ~7 s. One attempt may use at most 4.5 s so a slow first try leaves room for a
// second; a retry is only started when at least 1 s of budget would remain for it.
const DEFAULT_TIME_BUDGET_MS = 7_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 4_500;
const MIN_ATTEMPT_MS = 1_000;
// Pause before retrying a 5xx, network error or timeout that named no Retry-After.
const DEFAULT_RETRY_DELAY_MS = 250;

export interface AttestoClientOptions {
  /** Base URL without trailing slash, e.g. https://api.attesto.nossdev.com */
  baseUrl: string;
  /** Called per request so a rotated key is picked up (the provider caches it). */
  apiKey: () => Promise<string>;
  fetch?: typeof fetch;
  /** Total time for one verify call, both attempts included. */
  timeBudgetMs?: number;
  /** Upper bound for a single attempt. */
  attemptTimeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface AttestoCallOptions {
  /** Epoch ms after which the caller has no use for an answer (e.g. from the Lambda context). */
  deadline?: number;
}

export type AppleVerifyResult = AppleVerifyOk | VerifyRejected;
export type GoogleVerifyResult = GoogleSubscriptionOk | GoogleProductOk | VerifyRejected;

export interface AttestoClient {
  /** The parsed ok body or the domain rejection; throws the errors of ./errors otherwise. */
  verifyApple(request: AppleVerifyRequest, options?: AttestoCallOptions): Promise<AppleVerifyResult>;
  verifyGoogle(request: GoogleVerifyRequest, options?: AttestoCallOptions): Promise<GoogleVerifyResult>;
}

type AttemptOutcome =
  | { kind: 'answer'; status: number; text: string; headers: Headers }
  | { kind: 'network'; error: unknown }
  | { kind: 'timeout' };

interface RetryableFailure {
  message: string;
  retryAfterMs: number | undefined;
  context: AttestoFailureContext;
  cause?: unknown;
}

function zodIssues(error: SchemaError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

/** `Retry-After` as delay-seconds (fractions tolerated) or an HTTP date. */
function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function failureContext(status: number, headers: Headers, attestoCode?: string): AttestoFailureContext {
  const requestId = headers.get('x-request-id');
  return { status, ...(attestoCode ? { attestoCode } : {}), ...(requestId ? { requestId } : {}) };
}

// Attesto's INVALID_REQUEST details: `{issues: [{path: (string|number)[], message}]}`.
const attestoIssueSchema = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createAttestoClient(options: AttestoClientOptions): AttestoClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const budgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;

  async function attempt(
    url: string,
    body: string,
    apiKey: string,
    timeoutMs: number,
  ): Promise<AttemptOutcome> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal: controller.signal,
      });
      // Reading the body stays under the same timer: a server that sends headers then stalls
      // is as unavailable as one that never answers.
      const text = await response.text();
      return { kind: 'answer', status: response.status, text, headers: response.headers };
    } catch (error) {
      return timedOut ? { kind: 'timeout' } : { kind: 'network', error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Turns a non-ok answer into a thrown error, or describes it as worth one retry. */
  function classify(outcome: AttemptOutcome, timeoutMs: number): RetryableFailure {
    if (outcome.kind === 'timeout') {
      return {
        message: `Attesto did not answer within ${timeoutMs} ms`,
        retryAfterMs: undefined,
        context: {},
      };
    }
    if (outcome.kind === 'network') {
      const reason = outcome.error instanceof Error ? outcome.error.message : 'network error';
      return {
        message: `Attesto is unreachable (${reason})`,
        retryAfterMs: undefined,
        context: {},
        cause: outcome.error,
      };
    }
    const { status, text, headers } = outcome;
    const envelope = attestoErrorSchema.safeParse(safeJson(text));
    const code = envelope.success ? envelope.data.error : undefined;
    const details = envelope.success ? envelope.data.details : undefined;
    const context = failureContext(status, headers, code);
    const described = `Attesto answered ${status}${code ? ` ${code}` : ''}${context.requestId ? ` (request ${context.requestId})` : ''}`;

    if (status === 401 || status === 403 || code === 'CREDENTIALS_MISSING' || code === 'TENANT_NOT_FOUND') {
      throw new AttestoAuthError(`${described}: check the Attesto API key and tenant configuration`, context);
    }
    // Attesto reached the store but the store refused Attesto's own credentials: retrying cannot help.
    const upstreamStatus = typeof details?.status === 'number' ? details.status : undefined;
    if (
      (code === 'APPLE_API_ERROR' || code === 'GOOGLE_API_ERROR') &&
      (upstreamStatus === 401 || upstreamStatus === 403)
    ) {
      throw new AttestoAuthError(
        `${described}: the store refused the tenant's credentials (${upstreamStatus}); check them in Attesto`,
        context,
      );
    }
    if (status === 400 && code === 'INVALID_REQUEST') {
      const rawIssues = Array.isArray(details?.issues) ? details.issues : [];
      const issues: FieldIssue[] = rawIssues.flatMap((issue: unknown) => {
        const parsed = attestoIssueSchema.safeParse(issue);
        return parsed.success ? [{ path: parsed.data.path.join('.'), message: parsed.data.message }] : [];
      });
      const complaint = envelope.success ? envelope.data.message : 'invalid request';
      throw new AttestoInvalidRequestError(`Attesto refused the request: ${complaint}`, issues, context);
    }
    if (status === 429 || status === 408 || status >= 500) {
      const detailsDelay =
        typeof details?.retryAfterSeconds === 'number' && details.retryAfterSeconds >= 0
          ? details.retryAfterSeconds * 1000
          : undefined;
      return {
        message: described,
        retryAfterMs: parseRetryAfter(headers.get('retry-after'), now()) ?? detailsDelay,
        context,
      };
    }
    throw new AttestoBadResponseError(`${described}, outside its contract`, context);
  }

  async function call<T>(
    path: string,
    payload: unknown,
    okSchema: z.ZodMiniType<T>,
    callOptions: AttestoCallOptions | undefined,
  ): Promise<T | VerifyRejected> {
    const start = now();
    const end = Math.min(start + budgetMs, callOptions?.deadline ?? Number.POSITIVE_INFINITY);
    const url = `${baseUrl}${path}`;
    const body = JSON.stringify(payload);
    const apiKey = await options.apiKey();

    let failure: RetryableFailure | undefined;
    for (let attemptNo = 1; attemptNo <= 2; attemptNo++) {
      const remaining = end - now();
      if (remaining <= 0) break;
      const timeoutMs = Math.min(attemptTimeoutMs, remaining);
      const outcome = await attempt(url, body, apiKey, timeoutMs);

      if (outcome.kind === 'answer' && outcome.status === 200) {
        const context = failureContext(200, outcome.headers);
        const json = safeJson(outcome.text);
        if (json === undefined)
          throw new AttestoBadResponseError('Attesto answered 200 with a body that is not JSON', context);
        // Picking the schema by `valid` (rather than one union) lets a mismatch name its field.
        const isRejection =
          typeof json === 'object' && json !== null && (json as { valid?: unknown }).valid === false;
        const parsed = isRejection ? verifyRejectedSchema.safeParse(json) : okSchema.safeParse(json);
        if (!parsed.success) {
          const paths = zodIssues(parsed.error)
            .slice(0, 5)
            .map((i) => `${i.path}: ${i.message}`)
            .join('; ');
          throw new AttestoBadResponseError(
            `Attesto's answer does not match its contract: ${paths}`,
            context,
            parsed.error,
          );
        }
        return parsed.data;
      }

      failure = classify(outcome, timeoutMs);
      if (attemptNo === 2) break;
      const delayMs = failure.retryAfterMs ?? DEFAULT_RETRY_DELAY_MS;
      if (now() + delayMs + MIN_ATTEMPT_MS > end) break;
      logger.warn('Retrying Attesto', { path, reason: failure.message, delayMs });
      await sleep(delayMs);
    }

    const retryAfterMs = failure?.retryAfterMs ?? 1000;
    throw new AttestoUnavailableError(
      failure ? `${failure.message}; giving up for now` : 'No time left to call Attesto before the deadline',
      retryAfterMs / 1000,
      failure?.context ?? {},
      failure?.cause,
    );
  }

  function validRequest<T>(schema: z.ZodMiniType<T>, request: unknown, what: string): T {
    const parsed = schema.safeParse(request);
    if (!parsed.success) throw new InvalidRequestError(`Invalid ${what}`, zodIssues(parsed.error));
    return parsed.data;
  }

  return {
    async verifyApple(request, callOptions) {
      const body = validRequest(appleVerifyRequestSchema, request, 'Apple verification request');
      return call('/v1/apple/verify', body, appleVerifyOkSchema, callOptions);
    },
    async verifyGoogle(request, callOptions) {
      const body = validRequest(googleVerifyRequestSchema, request, 'Google verification request');
      // The purchase kind must match what was asked for; the literal `kind` in each schema checks it.
      const okSchema: z.ZodMiniType<GoogleSubscriptionOk | GoogleProductOk> =
        body.type === 'subscription' ? googleSubscriptionOkSchema : googleProductOkSchema;
      return call('/v1/google/verify', body, okSchema, callOptions);
    },
  };
}

const attestoEnvSchema = z.object({
  ATTESTO_URL: z.url({ protocol: /^https?$/ }),
});

let memo: { baseUrl: string; client: AttestoClient } | undefined;

/** The process-wide client: ATTESTO_URL plus the cached credentials. */
export function attestoClientFromEnv(): AttestoClient {
  const baseUrl = readConfig(attestoEnvSchema).ATTESTO_URL.replace(/\/+$/, '');
  if (memo?.baseUrl !== baseUrl)
    memo = { baseUrl, client: createAttestoClient({ baseUrl, apiKey: attestoApiKey }) };
  return memo.client;
}

/**
 * A client of its own rather than the shared one, sending through `fetch`: for a caller that
 * counts or caps the requests it makes (a reconciliation pass's Attesto call budget).
 */
export function attestoClientFromEnvWith(options: { fetch: typeof fetch }): AttestoClient {
  const baseUrl = readConfig(attestoEnvSchema).ATTESTO_URL.replace(/\/+$/, '');
  return createAttestoClient({ baseUrl, apiKey: attestoApiKey, fetch: options.fetch });
}
