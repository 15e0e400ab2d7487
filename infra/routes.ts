// THE route table: the CDK HTTP API and the local API Gateway emulator both read this list.
import type { FunctionName } from './functions';

export type HttpMethod = 'GET' | 'POST';
/**
 * `user`: the JWT authorizer runs and the handler gets the caller's claims; `operator`: AWS IAM
 * (SigV4) for the people who run the app, never a user's token; `none`: public.
 */
export type RouteAuth = 'user' | 'operator' | 'none';

export interface Route {
  method: HttpMethod;
  path: string;
  fn: FunctionName;
  auth: RouteAuth;
}

export interface RouteOptions {
  /** The SDK fetches products at start-up, possibly before login, so the default is public. */
  productsRequireAuth?: boolean;
  /** POST /webhooks/apple: App Store Server Notifications sent to this stack directly. Default off. */
  appleNotifications?: boolean;
  /** POST /webhooks/google: Play notifications over an authenticated Pub/Sub push. Default off. */
  googleNotifications?: boolean;
}

export function routeTable(options: RouteOptions = {}): Route[] {
  return [
    { method: 'POST', path: '/api/iap/verify/apple', fn: 'verify-apple', auth: 'user' },
    { method: 'POST', path: '/api/iap/verify/google', fn: 'verify-google', auth: 'user' },
    { method: 'GET', path: '/api/iap/entitlements', fn: 'entitlements', auth: 'user' },
    { method: 'POST', path: '/api/iap/restore', fn: 'restore', auth: 'user' },
    {
      method: 'GET',
      path: '/api/iap/products',
      fn: 'products',
      auth: options.productsRequireAuth ? 'user' : 'none',
    },
    { method: 'POST', path: '/api/iap/uuid', fn: 'uuid', auth: 'user' },
    // The getting-started guide fetches the uuid with a plain GET; accepting it costs nothing.
    { method: 'GET', path: '/api/iap/uuid', fn: 'uuid', auth: 'user' },
    { method: 'POST', path: '/attesto-webhook', fn: 'attesto-webhook', auth: 'none' },
    // Support and operations (docs/support.md): signed with the operator's AWS credentials.
    { method: 'GET', path: '/admin/customer', fn: 'admin-customer', auth: 'operator' },
    { method: 'POST', path: '/admin/grants', fn: 'admin-grant', auth: 'operator' },
    { method: 'POST', path: '/admin/grants/revoke', fn: 'admin-revoke-grant', auth: 'operator' },
    { method: 'GET', path: '/admin/export', fn: 'admin-export', auth: 'operator' },
    { method: 'POST', path: '/admin/erase', fn: 'admin-erase', auth: 'operator' },
    { method: 'POST', path: '/admin/transfer', fn: 'admin-transfer', auth: 'operator' },
    { method: 'POST', path: '/admin/resync', fn: 'admin-resync', auth: 'operator' },
    // The stores cannot send our users' JWTs: each handler verifies the store's own signature.
    ...(options.appleNotifications
      ? [{ method: 'POST', path: '/webhooks/apple', fn: 'apple-notifications', auth: 'none' } as const]
      : []),
    ...(options.googleNotifications
      ? [{ method: 'POST', path: '/webhooks/google', fn: 'google-notifications', auth: 'none' } as const]
      : []),
  ];
}

/** The routes an operator's managed policy may invoke: exactly those with `auth: 'operator'`. */
export function operatorRoutes(routes: readonly Route[]): Route[] {
  return routes.filter((route) => route.auth === 'operator');
}
