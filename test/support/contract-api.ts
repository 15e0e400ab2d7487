// The whole client API as the SDK meets it: the local HTTP API emulator (same route table, JWT
// authorizer against the dev OIDC issuer, API Gateway v2 events, the functions' bundles)
// over this test file's tables in DynamoDB Local, with the Attesto sandbox on loopback behind it.
import { startDevIssuer } from '../../dev/local/dev-issuer';
import { functionTimeoutSeconds, type HandlerResolver } from '../../dev/local/function-handlers';
import { type HttpApi, startHttpApi } from '../../dev/local/http-api';
import { createJwtAuthorizer } from '../../dev/local/jwt-authorizer';
import { freePort } from '../../dev/local/ports';
import type { LocalResources } from '../../dev/local/provision';
import {
  type AttestoSandbox,
  type AttestoSandboxOptions,
  startAttestoSandbox,
} from '../../dev/sandbox/server';
import { routeTable } from '../../infra/routes';
import { resetConfigCache } from '../../shared/config';
import { e2eHandlerResolver } from './e2e-functions';
import { useLocalAws } from './local-aws';

export const APP_ID = 'com.example.app';
export const ATTESTO_KEY = 'attesto_test_contract_0123456789abcdefghijklmnopqrstuvwxyzAB';

export interface ContractApi {
  url: string;
  sandbox: AttestoSandbox;
  resources: LocalResources;
  token(sub: string): Promise<string>;
  call(
    method: 'GET' | 'POST',
    path: string,
    options?: { user?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field after schema checks
  ): Promise<{ status: number; headers: Headers; json: any }>;
  /** The functions as the API runs them (their bundles: e2e-functions.ts), to invoke one directly. */
  handler: HandlerResolver;
  /** Sets (or, with undefined, removes) function environment variables for the next requests. */
  setEnv(vars: Record<string, string | undefined>): void;
  stop(): Promise<void>;
}

export async function startContractApi(
  options: { sandbox?: Partial<AttestoSandboxOptions>; productsRequireAuth?: boolean } = {},
): Promise<ContractApi> {
  const [resources, resolveHandler] = await Promise.all([useLocalAws(), e2eHandlerResolver()]);
  const sandbox = await startAttestoSandbox({
    apiKey: ATTESTO_KEY,
    webhookSecret: 'contract-webhook-secret-0123456789abcdefghij',
    packageName: APP_ID,
    bundleId: APP_ID,
    ...options.sandbox,
  });
  const setEnv = (vars: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(vars)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetConfigCache();
  };
  setEnv({
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: ATTESTO_KEY,
    ATTESTO_API_KEY_SECRET_ARN: undefined,
    GOOGLE_PACKAGE_NAME: APP_ID,
    APPLE_BUNDLE_ID: APP_ID,
  });
  const port = await freePort();
  const issuer = await startDevIssuer({ apiUrl: `http://127.0.0.1:${port}` });
  let api: HttpApi;
  try {
    api = await startHttpApi({
      port,
      routes: routeTable({ productsRequireAuth: options.productsRequireAuth ?? false }),
      resolveHandler,
      authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: issuer.audience }),
      timeoutSeconds: functionTimeoutSeconds,
      extraEndpoints: issuer.endpoints,
    });
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  const tokens = new Map<string, Promise<string>>();
  const token = (sub: string) => {
    const known = tokens.get(sub);
    if (known) return known;
    const signed = issuer.sign(sub);
    tokens.set(sub, signed);
    return signed;
  };

  return {
    url: api.url,
    sandbox,
    resources,
    token,
    handler: resolveHandler,
    setEnv,
    async call(method, path, callOptions = {}) {
      const user = callOptions.user === undefined ? 'alice' : callOptions.user;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(user === null ? {} : { authorization: `Bearer ${await token(user)}` }),
        ...callOptions.headers,
      };
      const body =
        callOptions.rawBody ??
        (callOptions.body === undefined ? undefined : JSON.stringify(callOptions.body));
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      return { status: response.status, headers: response.headers, json };
    },
    async stop() {
      await api.stop();
      await sandbox.stop();
    },
  };
}
