import type { IncomingMessage, ServerResponse } from 'node:http';
import { appleVerifyRequestSchema, googleVerifyRequestSchema } from '../../shared/attesto/schemas';
import { parseJson, readBody, sendJson, sleep } from './http-io';
import type { TrafficKnobs } from './traffic-knobs';
import { appleVerifyAnswer, googleVerifyAnswer } from './verify-answers';
import type { SandboxWorld } from './world';

// POST /v1/apple/verify and /v1/google/verify, in Attesto's order: API key, rate limit, body
// checks, then the store. Domain "no" answers are HTTP 200 `valid:false`; everything thrown uses
// the error envelope `{valid:false, error, message, details?}` (contract §2.4).

const VERIFY_MAX_BODY_BYTES = 16 * 1024;

export interface VerifyRouteDeps {
  apiKey: string;
  world: SandboxWorld;
  knobs: TrafficKnobs;
  bundleId: string;
  packageName: string;
  version: string;
  now: () => number;
  /** Responses held open by the hang knob, closed when the server stops. */
  hanging: Set<ServerResponse>;
}

type Platform = 'apple' | 'google';

function errorBody(error: string, message: string, details?: Record<string, unknown>) {
  return { valid: false as const, error, message, ...(details ? { details } : {}) };
}

export async function handleVerify(
  platform: Platform,
  req: IncomingMessage,
  res: ServerResponse,
  deps: VerifyRouteDeps,
): Promise<void> {
  const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const outcome = body.valid === true ? 'valid' : String(body.error);
    deps.knobs.countAnswer(status, outcome);
    sendJson(res, status, body, headers);
  };

  if (req.headers.authorization !== `Bearer ${deps.apiKey}`) {
    await readBody(req, VERIFY_MAX_BODY_BYTES);
    answer(401, errorBody('UNAUTHENTICATED', 'Missing or invalid API key'));
    return;
  }
  deps.knobs.countVerify(platform);

  const hang = deps.knobs.takeHang();
  if (hang) {
    if (hang.afterMs === null) {
      deps.hanging.add(res);
      res.on('close', () => deps.hanging.delete(res));
      return;
    }
    await sleep(hang.afterMs);
  }

  const retryAfter = deps.knobs.take429();
  if (retryAfter !== null) {
    await readBody(req, VERIFY_MAX_BODY_BYTES);
    answer(429, errorBody('RATE_LIMITED', 'Rate limit exceeded', { retryAfterSeconds: retryAfter }), {
      'Retry-After': String(retryAfter),
    });
    return;
  }

  const contentType = req.headers['content-type'] ?? '';
  const declaredLength = Number(req.headers['content-length'] ?? 0);
  const body = await readBody(req, VERIFY_MAX_BODY_BYTES);
  if (declaredLength > VERIFY_MAX_BODY_BYTES || body.tooLarge) {
    answer(400, errorBody('INVALID_REQUEST', 'Request body too large', { maxBytes: VERIFY_MAX_BODY_BYTES }));
    return;
  }
  if (!/^application\/json\b/i.test(contentType)) {
    answer(400, errorBody('INVALID_REQUEST', 'Content-Type must be application/json'));
    return;
  }
  const json = parseJson(body.text);
  const schema = platform === 'apple' ? appleVerifyRequestSchema : googleVerifyRequestSchema;
  const parsed = json.ok ? schema.safeParse(json.value) : null;
  if (!parsed?.success) {
    const issues = parsed
      ? parsed.error.issues.map((i) => ({ path: i.path, message: i.message }))
      : [{ path: [], message: 'Body is not valid JSON' }];
    answer(400, errorBody('INVALID_REQUEST', 'Invalid request body', { issues }));
    return;
  }

  if (deps.knobs.knobs.latencyMs > 0) await sleep(deps.knobs.knobs.latencyMs);

  if (deps.knobs.rollUpstreamError()) {
    if (platform === 'apple') {
      answer(
        502,
        errorBody('APPLE_API_ERROR', 'Apple API request failed', { status: 500, appleErrorCode: 5000000 }),
      );
    } else {
      answer(
        502,
        errorBody('GOOGLE_API_ERROR', 'Google API request failed', {
          status: 503,
          googleErrorCode: 'backendError',
        }),
      );
    }
    return;
  }

  const ctx = {
    bundleId: deps.bundleId,
    packageName: deps.packageName,
    version: deps.version,
    now: deps.now(),
  };
  const result =
    platform === 'apple'
      ? appleVerifyAnswer(deps.world, parsed.data as Parameters<typeof appleVerifyAnswer>[1], ctx)
      : googleVerifyAnswer(deps.world, parsed.data as Parameters<typeof googleVerifyAnswer>[1], ctx);
  answer(200, result as Record<string, unknown>);
}
