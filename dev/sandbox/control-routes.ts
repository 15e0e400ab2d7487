import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson, readBody, sendJson } from './http-io';
import type { SandboxController } from './sandbox-controller';
import { SandboxError } from './sandbox-error';
import { SANDBOX_PRODUCT_TYPES, type SandboxProductType } from './sandbox-products';
import type { TrafficKnobs } from './traffic-knobs';
import { validateKnobs } from './traffic-knobs';
import { LIFECYCLE_ACTIONS, type LifecycleAction } from './world';

// The sandbox's own API under /_sandbox/* (JSON, loopback only, no auth): create purchases, move
// them through their lifecycle, look at webhooks, turn the misbehaviour knobs. The CLI speaks it.

export interface ControlRouteDeps {
  controller: SandboxController;
  knobs: TrafficKnobs;
  info: () => Record<string, unknown>;
}

const deliveryFields = {
  deliver: z.boolean().optional(),
  webhookUrl: z.url().optional(),
};

const buySchema = z
  .object({
    platform: z.enum(['apple', 'google']),
    productId: z.string().min(1).max(200),
    appUserId: z.string().nullable().optional(),
    type: z.enum(SANDBOX_PRODUCT_TYPES as [SandboxProductType, ...SandboxProductType[]]).optional(),
    periodMs: z.number().int().min(1000).optional(),
    bundleId: z.string().min(1).optional(),
    packageName: z.string().min(1).optional(),
    ...deliveryFields,
  })
  .strict();

const actionSchema = z
  .object({
    grace: z.boolean().optional(),
    newProductId: z.string().min(1).max(200).optional(),
    appUserId: z.string().nullable().optional(),
    transactionId: z.string().min(1).optional(),
    ...deliveryFields,
  })
  .strict();

const knobsSchema = z
  .object({
    latencyMs: z.number().optional(),
    errorRate: z.number().optional(),
    burst429: z.number().optional(),
    retryAfterSeconds: z.number().optional(),
    hang: z
      .object({
        remaining: z.number().nullable().default(null),
        afterMs: z.number().nullable().default(null),
      })
      .nullable()
      .optional(),
  })
  .strict();

const redeliverSchema = z.object({ webhookUrl: z.url().optional() }).strict();

class BadRequest extends Error {
  readonly issues: unknown;
  constructor(message: string, issues?: unknown) {
    super(message);
    this.issues = issues;
  }
}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const body = await readBody(req, 64 * 1024);
  if (body.tooLarge) throw new BadRequest('Body too large');
  const json = body.text.trim() === '' ? { ok: true as const, value: {} } : parseJson(body.text);
  if (!json.ok) throw new BadRequest('Body is not valid JSON');
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new BadRequest(issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; '), issues);
  }
  return parsed.data;
}

export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  deps: ControlRouteDeps,
): Promise<void> {
  const { controller, knobs } = deps;
  const [resource, id, sub, ...rest] = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const is = (m: string, r: string, withId: boolean, s?: string) =>
    method === m && resource === r && (id !== undefined) === withId && sub === s && rest.length === 0;
  try {
    if (is('GET', 'info', false)) return sendJson(res, 200, deps.info());
    if (is('GET', 'purchases', false)) return sendJson(res, 200, { purchases: controller.purchases() });
    if (is('POST', 'purchases', false)) {
      return sendJson(res, 201, await controller.buy(await jsonBody(req, buySchema)));
    }
    if (is('GET', 'purchases', true)) return sendJson(res, 200, { purchase: controller.purchase(id ?? '') });
    if (
      method === 'POST' &&
      resource === 'purchases' &&
      id !== undefined &&
      sub !== undefined &&
      rest.length === 0
    ) {
      const action = sub as LifecycleAction;
      if (!LIFECYCLE_ACTIONS.includes(action)) {
        throw new BadRequest(`Unknown action "${sub}"; one of ${LIFECYCLE_ACTIONS.join(', ')}`);
      }
      return sendJson(res, 200, await controller.act(id, action, await jsonBody(req, actionSchema)));
    }
    if (is('GET', 'webhooks', false)) {
      return sendJson(res, 200, { webhooks: controller.webhooks(query.get('purchase') ?? undefined) });
    }
    if (is('GET', 'webhooks', true)) return sendJson(res, 200, { webhook: controller.webhook(id ?? '') });
    if (is('GET', 'webhooks', true, 'request')) {
      const at = query.get('t');
      return sendJson(res, 200, controller.buildWebhookRequest(id ?? '', at ? Number(at) : undefined));
    }
    if (is('POST', 'webhooks', true, 'deliver')) {
      const body = await jsonBody(req, redeliverSchema);
      const deliveries = await controller.deliver(
        [controller.webhook(id ?? '')],
        body.webhookUrl ?? controller.webhookUrl,
      );
      return sendJson(res, 200, { deliveries });
    }
    if (is('GET', 'stats', false)) return sendJson(res, 200, knobs.stats);
    if (method === 'POST' && resource === 'stats' && id === 'reset' && sub === undefined) {
      knobs.resetStats();
      return sendJson(res, 200, knobs.stats);
    }
    if (is('GET', 'knobs', false)) return sendJson(res, 200, knobs.knobs);
    if (is('POST', 'knobs', false)) {
      const update = await jsonBody(req, knobsSchema);
      const problems = validateKnobs(update);
      if (problems.length > 0) throw new BadRequest(problems.join('; '));
      return sendJson(res, 200, knobs.update(update));
    }
    return sendJson(res, 404, { error: 'NOT_FOUND', message: `No sandbox route ${method} ${path}` });
  } catch (error) {
    if (error instanceof SandboxError)
      return sendJson(res, error.status, { error: error.code, message: error.message });
    if (error instanceof BadRequest) {
      return sendJson(res, 400, { error: 'INVALID_INPUT', message: error.message, issues: error.issues });
    }
    return sendJson(res, 500, {
      error: 'INTERNAL_ERROR',
      message: error instanceof Error ? error.message : String(error),
    });
  }
}
