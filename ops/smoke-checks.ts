// The post-deploy smoke checks, each a function over a SmokeTarget: a deployed stage reached with
// the operator's AWS credentials (smoke-deployed.ts) or a running `npm start` (smoke-local.ts).
// A check never throws: whatever goes wrong becomes a failed result that says what to look at.
import { randomUUID } from 'node:crypto';
import { signAttestoPayload } from '../shared/attesto/webhook-signature';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
}

/** Approximate message counts of a queue: waiting + in flight + delayed. */
export type QueueName = 'queue' | 'dlq';

export interface AlarmState {
  name: string;
  state: string;
}

export interface TargetSecrets {
  /** The webhook signing secrets as configured, current first. */
  webhookSecrets: string[];
  /** The Attesto API key, where the target can read it. */
  apiKey?: string;
}

/** What the checks need to know about, and do to, the backend under test. */
export interface SmokeTarget {
  /** One line saying what is checked ("stage prod (IapBackend-prod, eu-west-1)"). */
  description: string;
  /** Base URL of the API, no trailing slash. */
  apiUrl: string;
  webhookUrl: string;
  secrets(): Promise<TargetSecrets>;
  queueDepth(queue: QueueName): Promise<number>;
  /** The stack's alarms, or 'not-applicable' where there are none to have (locally). */
  alarms(): Promise<AlarmState[] | 'not-applicable'>;
}

export interface SmokeOptions {
  /** How long the consumer may take to drain the queue after the test webhook. */
  drainTimeoutMs: number;
  pollIntervalMs?: number;
  fetchImpl?: typeof fetch;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** The value a created secret holds until an operator puts the real one (infra/constructs/attesto-secret.ts). */
export const PLACEHOLDER_API_KEY = 'REPLACE_WITH_ATTESTO_API_KEY';

const REQUEST_TIMEOUT_MS = 15_000;

const pass = (check: string, detail: string): CheckResult => ({ check, status: 'pass', detail });
const fail = (check: string, detail: string): CheckResult => ({ check, status: 'fail', detail });
const skip = (check: string, detail: string): CheckResult => ({ check, status: 'skip', detail });

function messageOf(error: unknown): string {
  const e = error as Error;
  return e?.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : String(e?.message ?? error);
}

async function request(
  options: SmokeOptions,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string }> {
  const res = await (options.fetchImpl ?? fetch)(url, {
    ...init,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

export async function checkProducts(target: SmokeTarget, options: SmokeOptions): Promise<CheckResult> {
  const name = 'products';
  const url = `${target.apiUrl}/api/iap/products`;
  try {
    const { status, text } = await request(options, url);
    if (status === 401)
      return skip(
        name,
        `GET ${url} answered 401: this stage requires a token for products (productsRequireAuth)`,
      );
    if (status !== 200)
      return fail(name, `GET ${url} answered ${status}, expected 200: ${text.slice(0, 200)}`);
    const products = (JSON.parse(text) as { products?: unknown }).products;
    if (!Array.isArray(products)) return fail(name, `GET ${url} answered 200 without a products list`);
    return pass(name, `GET /api/iap/products → 200, ${products.length} product(s)`);
  } catch (error) {
    return fail(name, `GET ${url} failed: ${messageOf(error)}`);
  }
}

export async function checkTokenRequired(target: SmokeTarget, options: SmokeOptions): Promise<CheckResult> {
  const name = 'token required';
  const url = `${target.apiUrl}/api/iap/entitlements`;
  try {
    const { status } = await request(options, url);
    if (status !== 401)
      return fail(
        name,
        `GET ${url} without a token answered ${status}, expected 401: the user routes are not guarded`,
      );
    return pass(name, 'GET /api/iap/entitlements without a token → 401');
  } catch (error) {
    return fail(name, `GET ${url} failed: ${messageOf(error)}`);
  }
}

/** The webhook secrets when they are real values; the check result either way. */
export async function checkSecrets(
  target: SmokeTarget,
): Promise<{ result: CheckResult; webhookSecrets: string[] }> {
  const name = 'secrets set';
  let secrets: TargetSecrets;
  try {
    secrets = await target.secrets();
  } catch (error) {
    return { result: fail(name, `cannot read the Attesto secrets: ${messageOf(error)}`), webhookSecrets: [] };
  }
  const webhookSecrets = secrets.webhookSecrets.filter((s) => typeof s === 'string' && s.trim() !== '');
  const problems: string[] = [];
  if (webhookSecrets.length === 0)
    problems.push('the webhook secrets are still the placeholder (an empty list): every webhook is refused');
  if (
    secrets.apiKey !== undefined &&
    (secrets.apiKey.trim() === '' || secrets.apiKey === PLACEHOLDER_API_KEY)
  )
    problems.push('the Attesto API key is still the placeholder: every verify fails');
  if (problems.length) return { result: fail(name, problems.join('; ')), webhookSecrets };
  const apiKey = secrets.apiKey === undefined ? 'API key not readable here' : 'API key set';
  return {
    result: pass(name, `${webhookSecrets.length} webhook secret(s), ${apiKey}`),
    webhookSecrets,
  };
}

/**
 * An Attesto probe event (contract §3.6 `test`: subject null): the consumer acknowledges it and
 * changes nothing but its processed-events marker, which expires on its own.
 */
export function smokeTestEvent(now: Date): { body: string; eventId: string } {
  const id = randomUUID();
  const eventId = `evt_smoke_${id.replaceAll('-', '')}`;
  const externalId = `smoke-${id}`;
  const body = JSON.stringify({
    event: 'test',
    reason: null,
    platformEvent: 'apple.test',
    eventId,
    externalId,
    timestamp: now.toISOString(),
    tenantId: 'tenant_smoke',
    source: 'apple',
    subject: null,
    appUserId: null,
    data: {
      notificationType: 'TEST',
      notificationUUID: externalId,
      version: '2.0',
      signedDate: now.getTime(),
    },
    raw: {},
  });
  return { body, eventId };
}

async function depths(target: SmokeTarget): Promise<{ queue: number; dlq: number }> {
  const [queue, dlq] = await Promise.all([target.queueDepth('queue'), target.queueDepth('dlq')]);
  return { queue, dlq };
}

/**
 * Posts a signed test event, then waits for the consumer: the queue back to empty (nothing
 * waiting or in flight) and the DLQ no larger than before.
 */
export async function checkWebhook(
  target: SmokeTarget,
  webhookSecrets: string[],
  options: SmokeOptions,
): Promise<CheckResult[]> {
  const accepted = 'webhook accepted';
  const consumed = 'webhook consumed';
  const dlq = 'dead-letter queue';
  const secret = webhookSecrets[0];
  if (!secret) {
    const why = 'no webhook secret to sign with (see "secrets set")';
    return [fail(accepted, why), skip(consumed, why), skip(dlq, why)];
  }
  let before: { queue: number; dlq: number };
  try {
    before = await depths(target);
  } catch (error) {
    const why = `cannot read the queues: ${messageOf(error)}`;
    return [skip(accepted, why), fail(consumed, why), fail(dlq, why)];
  }

  const now = options.now?.() ?? new Date();
  const { body, eventId } = smokeTestEvent(now);
  const t = Math.floor(now.getTime() / 1000);
  try {
    const { status, text } = await request(options, target.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-attesto-signature': signAttestoPayload(body, secret, t),
        'x-attesto-event': 'test',
        'x-attesto-event-id': eventId,
        'x-attesto-timestamp': String(t),
      },
      body,
    });
    if (status !== 200) {
      const hint =
        status === 401
          ? ': the signature was refused: the secret the webhook function uses differs from the one read here'
          : '';
      const why = `POST ${target.webhookUrl} answered ${status}${hint} ${text.slice(0, 200)}`.trim();
      return [
        fail(accepted, why),
        skip(consumed, 'the webhook was not accepted'),
        skip(dlq, 'the webhook was not accepted'),
      ];
    }
  } catch (error) {
    const why = `POST ${target.webhookUrl} failed: ${messageOf(error)}`;
    return [
      fail(accepted, why),
      skip(consumed, 'the webhook was not accepted'),
      skip(dlq, 'the webhook was not accepted'),
    ];
  }
  const results = [pass(accepted, `signed test event ${eventId} → 200`)];

  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const started = Date.now();
  let after = before;
  let drained = false;
  try {
    for (;;) {
      after = await depths(target);
      if (after.queue === 0) {
        drained = true;
        break;
      }
      if (Date.now() - started >= options.drainTimeoutMs) break;
      await sleep(options.pollIntervalMs ?? 1_000);
    }
  } catch (error) {
    const why = `cannot read the queues: ${messageOf(error)}`;
    return [...results, fail(consumed, why), fail(dlq, why)];
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(
    drained
      ? pass(consumed, `webhook queue empty again after ${seconds} s`)
      : fail(
          consumed,
          `${after.queue} message(s) still in the webhook queue after ${seconds} s: the consumer is not draining it (see its log group and the ConsumerErrors alarm)`,
        ),
  );
  results.push(
    after.dlq > before.dlq
      ? fail(
          dlq,
          `grew from ${before.dlq} to ${after.dlq} message(s) during the check: inspect with npm run dlq -- list`,
        )
      : pass(
          dlq,
          `${after.dlq} message(s), no growth${after.dlq ? ' (older ones are waiting: npm run dlq -- list)' : ''}`,
        ),
  );
  return results;
}

export async function checkAlarms(target: SmokeTarget): Promise<CheckResult> {
  const name = 'alarms';
  let alarms: AlarmState[] | 'not-applicable';
  try {
    alarms = await target.alarms();
  } catch (error) {
    return fail(name, `cannot read the alarms: ${messageOf(error)}`);
  }
  if (alarms === 'not-applicable') return skip(name, 'not applicable locally (no CloudWatch)');
  if (alarms.length === 0) return fail(name, 'the stack has no alarms: nobody would be told when it breaks');
  const firing = alarms.filter((a) => a.state === 'ALARM');
  if (firing.length)
    return fail(
      name,
      `${firing.length} of ${alarms.length} in ALARM: ${firing.map((a) => a.name).join(', ')}`,
    );
  return pass(name, `${alarms.length} alarm(s), none in ALARM`);
}

/** Every check, in the order an operator reads them. */
export async function runSmokeChecks(target: SmokeTarget, options: SmokeOptions): Promise<CheckResult[]> {
  const results = [await checkProducts(target, options), await checkTokenRequired(target, options)];
  const secrets = await checkSecrets(target);
  results.push(secrets.result);
  results.push(...(await checkWebhook(target, secrets.webhookSecrets, options)));
  results.push(await checkAlarms(target));
  return results;
}
