import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AppleSigningChain, createAppleJwsSigner } from './apple-jws-signer';
import { sandboxProductsFromCatalog } from './catalog-products';
import { handleControl } from './control-routes';
import { sendJson } from './http-io';
import { freshUlid } from './identifiers';
import type { PurchaseView } from './purchase-view';
import { type ControlResult, type DeliveryChoice, SandboxController } from './sandbox-controller';
import { productLookupFrom, type SandboxProduct, type TimeScale } from './sandbox-products';
import { type KnobsUpdate, type SandboxKnobs, type SandboxStats, TrafficKnobs } from './traffic-knobs';
import { handleVerify } from './verify-routes';
import type { DeliveryResult, WebhookRequest } from './webhook-delivery';
import {
  type ActionOptions,
  type BuyInput,
  emptyWorldState,
  type LifecycleAction,
  SandboxWorld,
} from './world';
import { loadWorldState } from './world-file';
import type { SandboxWebhook } from './world-types';

// An Attesto look-alike on 127.0.0.1: the two verify endpoints exactly as Attesto answers them, the
// webhooks Attesto would send for each store event, and /_sandbox/* to drive it all. App
// developers run a whole purchase lifecycle with no store accounts; tests talk real HTTP to it.

/** Build tag in `version` and `X-Attesto-Version`; informational, as Attesto's is. */
const SANDBOX_VERSION = 'v0.0.24-sandbox';

export interface AttestoSandboxOptions {
  /** 0 or absent: a free port (read it from `url`). */
  port?: number;
  /** JSON file the world is kept in; absent = in memory only. */
  dataFile?: string;
  apiKey: string;
  webhookSecret: string;
  webhookUrl?: string;
  packageName: string;
  bundleId: string;
  latencyMs?: number;
  errorRate?: number;
  /** Seeds the world's identifiers and the error-rate draws. Default 1. */
  seed?: number;
  /** `sandbox` (default): a month lasts 5 minutes, as in Apple's sandbox. `real`: calendar lengths. */
  timeScale?: TimeScale;
  /** Products the sandbox sells; default: the app's catalog (shared/domain/catalog.ts). */
  products?: readonly SandboxProduct[];
  /** Clock, for tests; default Date.now. Store event times still never go backwards. */
  now?: () => number;
  version?: string;
  /** Sign Apple JWS with this key and x5c chain instead of the sandbox's own key. */
  appleSigningChain?: AppleSigningChain;
  webhookTimeoutMs?: number;
}

export interface AttestoSandbox {
  url: string;
  port: number;
  apiKey: string;
  webhookSecret: string;
  tenantId: string;
  controller: SandboxController;
  buy(input: BuyInput & DeliveryChoice): Promise<ControlResult>;
  act(ref: string, action: LifecycleAction, options?: ActionOptions & DeliveryChoice): Promise<ControlResult>;
  purchases(): PurchaseView[];
  webhooks(ref?: string): SandboxWebhook[];
  buildWebhookRequest(webhook: SandboxWebhook | string, nowSeconds?: number): WebhookRequest;
  deliver(webhooks: readonly SandboxWebhook[], url?: string): Promise<DeliveryResult[]>;
  setWebhookUrl(url: string | undefined): void;
  knobs(): SandboxKnobs;
  setKnobs(update: KnobsUpdate): SandboxKnobs;
  stats(): SandboxStats;
  resetStats(): void;
  stop(): Promise<void>;
}

export async function startAttestoSandbox(options: AttestoSandboxOptions): Promise<AttestoSandbox> {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const version = options.version ?? SANDBOX_VERSION;
  const state = (options.dataFile ? loadWorldState(options.dataFile) : null) ?? emptyWorldState(seed, now());
  const signer = createAppleJwsSigner(state.signingKey, options.appleSigningChain);
  if (!options.appleSigningChain) state.signingKey = signer.privateJwk;
  const world = new SandboxWorld(
    state,
    {
      bundleId: options.bundleId,
      packageName: options.packageName,
      timeScale: options.timeScale ?? 'sandbox',
      lookupProduct: productLookupFrom(options.products ?? sandboxProductsFromCatalog()),
    },
    signer,
  );
  const knobs = new TrafficKnobs(
    {
      ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
      ...(options.errorRate !== undefined ? { errorRate: options.errorRate } : {}),
    },
    seed,
  );
  const controller = new SandboxController({
    world,
    knobs,
    ...(options.dataFile ? { dataFile: options.dataFile } : {}),
    webhookSecret: options.webhookSecret,
    ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    version,
    now,
    ...(options.webhookTimeoutMs ? { webhookTimeoutMs: options.webhookTimeoutMs } : {}),
  });
  controller.persist();

  const hanging = new Set<ServerResponse>();
  let url = '';
  const verifyDeps = {
    apiKey: options.apiKey,
    world,
    knobs,
    bundleId: options.bundleId,
    packageName: options.packageName,
    version,
    now,
    hanging,
  };
  const info = () => ({
    url,
    tenantId: state.tenantId,
    bundleId: options.bundleId,
    packageName: options.packageName,
    // A local test key: the CLI prints ready-to-run curl commands with it.
    apiKey: options.apiKey,
    webhookUrl: controller.webhookUrl ?? null,
    timeScale: options.timeScale ?? 'sandbox',
    products: (options.products ?? sandboxProductsFromCatalog()).map((p) => ({
      productId: p.productId,
      type: p.type,
    })),
    version,
  });

  const server = createServer((req, res) => {
    res.setHeader('X-Request-Id', `req_${freshUlid(Date.now())}`);
    res.setHeader('X-Attesto-Version', version);
    const parsed = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = parsed.pathname.replace(/\/+$/, '') || '/';
    const route = async () => {
      if (req.method === 'POST' && path === '/v1/apple/verify')
        return handleVerify('apple', req, res, verifyDeps);
      if (req.method === 'POST' && path === '/v1/google/verify')
        return handleVerify('google', req, res, verifyDeps);
      if (req.method === 'GET' && (path === '/health' || path === '/ready'))
        return sendJson(res, 200, { status: 'ok' });
      if (path === '/_sandbox' || path.startsWith('/_sandbox/')) {
        return handleControl(req, res, path, parsed.searchParams, { controller, knobs, info });
      }
      req.resume();
      return sendJson(res, 404, {
        valid: false,
        error: 'NOT_FOUND',
        message: `No route ${req.method} ${path}`,
      });
    };
    route().catch((error: unknown) => {
      sendJson(res, 500, {
        valid: false,
        error: 'INTERNAL_ERROR',
        message: error instanceof Error ? error.message : 'Internal error',
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    apiKey: options.apiKey,
    webhookSecret: options.webhookSecret,
    tenantId: state.tenantId,
    controller,
    buy: (input) => controller.buy(input),
    act: (ref, action, actionOptions) => controller.act(ref, action, actionOptions),
    purchases: () => controller.purchases(),
    webhooks: (ref) => controller.webhooks(ref),
    buildWebhookRequest: (webhook, nowSeconds) => controller.buildWebhookRequest(webhook, nowSeconds),
    deliver: (webhooks, deliverUrl) => controller.deliver(webhooks, deliverUrl),
    setWebhookUrl: (webhookUrl) => {
      controller.webhookUrl = webhookUrl;
    },
    knobs: () => knobs.knobs,
    setKnobs: (update) => knobs.update(update),
    stats: () => knobs.stats,
    resetStats: () => knobs.resetStats(),
    stop: async () => {
      for (const res of hanging) res.destroy();
      hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      controller.persist();
    },
  };
}
