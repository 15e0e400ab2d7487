// What docs/openapi.json says about each route of the route table (../routes.ts): one entry per
// `METHOD path`, naming the zod schemas its handler validates the request with and answers with.
// The document is generated from these entries (./document.ts); a route without one fails the
// generator and the test that compares the route table with the document.
import { MAX_REFERENCE_LENGTH } from '../../shared/admin/customer-reference';
import { grantBodySchema, revokeGrantBodySchema } from '../../shared/admin/grants';
import {
  customerResponseSchema,
  erasureResponseSchema,
  exportResponseSchema,
  grantResponseSchema,
  resyncResponseSchema,
  revokeGrantResponseSchema,
  transferResponseSchema,
} from '../../shared/admin/response-schemas';
import { resyncBodySchema } from '../../shared/admin/resync';
import { transferBodySchema } from '../../shared/admin/transfer';
import { eraseBodySchema, MAX_USER_ID_LENGTH } from '../../shared/admin/user-data';
import { attestoWebhookSchema } from '../../shared/attesto/schemas';
import { appleNotificationBodySchema, receivedSchema } from '../../shared/ingest/contract-schemas';
import { pushBodySchema } from '../../shared/ingest/google/pubsub-message';
import {
  appleVerifyBodySchema,
  googleVerifyBodySchema,
  restoreBodySchema,
} from '../../shared/purchases/request-schemas';
import {
  entitlementsResponseSchema,
  productsResponseSchema,
  restoreResponseSchema,
  uuidResponseSchema,
  verifyResponseSchema,
} from '../../shared/purchases/response-schemas';
import type { AnySchema } from '../../shared/validation';
import * as z from '../../shared/validation';

/** Statuses a handler answers besides 200. API Gateway's own (401/403 by auth, 413, 429, 500, 503) are added for every route. */
export type HandlerStatus = 400 | 401 | 404 | 413 | 415 | 429 | 502 | 503;

export type Tag = 'App' | 'Store webhooks' | 'Operator';

/** A schema under its name in `components.schemas`. */
export interface Named {
  name: string;
  schema: AnySchema;
}

export interface Operation {
  /** The name a generated client gives the call. */
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** The JSON body the handler reads (documented as what the caller may send: its input side). */
  body?: Named & { description?: string };
  query?: { name: string; description: string; schema: AnySchema }[];
  /** The 200 answer. */
  ok: Named & { description: string };
  /** What the handler itself may answer besides 200 and 500. */
  statuses: HandlerStatus[];
  /** The ingest endpoints answer in their own terse format (shared/ingest/contract-schemas.ts). */
  ingest?: true;
  /**
   * Who may call a route whose `auth` in the route table is `none`: the name of the sender's
   * signature scheme (./document.ts), or public. Routes with `user` or `operator` auth get theirs.
   */
  security?: 'attestoSignature' | 'pubsubPushToken' | 'public-or-user';
}

const USER_STATUSES: HandlerStatus[] = [400, 413, 415, 503];
const VERIFY_STATUSES: HandlerStatus[] = [...USER_STATUSES, 429, 502];

const verifyDescription =
  'A store\'s "no" is 200 `{valid:false, error, message}`; a transient problem is never `valid:false` ' +
  "(503 with Retry-After, or 502 when Attesto refuses this backend's own key). Either request shape " +
  'of the SDK is accepted; unknown fields are ignored.';

export const OPERATIONS: Record<string, Operation> = {
  'POST /api/iap/verify/apple': {
    operationId: 'verifyApple',
    tag: 'App',
    summary: "Verify an App Store transaction and record it as the caller's",
    description: verifyDescription,
    body: { name: 'VerifyAppleRequest', schema: appleVerifyBodySchema },
    ok: {
      name: 'VerifyResponse',
      schema: verifyResponseSchema,
      description: 'Verified, or the store said no',
    },
    statuses: VERIFY_STATUSES,
  },
  'POST /api/iap/verify/google': {
    operationId: 'verifyGoogle',
    tag: 'App',
    summary: "Verify a Google Play purchase token and record it as the caller's",
    description: `${verifyDescription} A missing \`packageName\` defaults to the stage's Android package.`,
    body: { name: 'VerifyGoogleRequest', schema: googleVerifyBodySchema },
    ok: {
      name: 'VerifyResponse',
      schema: verifyResponseSchema,
      description: 'Verified, or the store said no',
    },
    statuses: VERIFY_STATUSES,
  },
  'GET /api/iap/entitlements': {
    operationId: 'getEntitlements',
    tag: 'App',
    summary: "The caller's entitlements now",
    ok: {
      name: 'EntitlementsResponse',
      schema: entitlementsResponseSchema,
      description: 'At most one entitlement per key; nothing already expired',
    },
    statuses: [503],
  },
  'POST /api/iap/restore': {
    operationId: 'restorePurchases',
    tag: 'App',
    summary: 'Verify a batch of store transactions and answer the resulting entitlements',
    description:
      'Each entry is checked on its own: a malformed entry is skipped, not a 400. 429 when the ' +
      "caller's Attesto call limit refused every call the batch needed.",
    body: { name: 'RestoreRequest', schema: restoreBodySchema },
    ok: { name: 'RestoreResponse', schema: restoreResponseSchema, description: "The caller's entitlements" },
    statuses: VERIFY_STATUSES,
  },
  'GET /api/iap/products': {
    operationId: 'getProducts',
    tag: 'App',
    summary: "The app's product manifest",
    description: 'Public by default (the SDK fetches it at start-up); a stage may require a user token.',
    ok: {
      name: 'ProductsResponse',
      schema: productsResponseSchema,
      description: 'At least one product, unique ids',
    },
    statuses: [],
    security: 'public-or-user',
  },
  'POST /api/iap/uuid': {
    operationId: 'createUuid',
    tag: 'App',
    summary: "The caller's appUserId, minted on first use",
    description:
      'Hand it to the store at purchase time: it binds the purchase to this user. No body is read.',
    ok: { name: 'UuidResponse', schema: uuidResponseSchema, description: 'The same uuid on every call' },
    statuses: [503],
  },
  'GET /api/iap/uuid': {
    operationId: 'getUuid',
    tag: 'App',
    summary: "The caller's appUserId, minted on first use",
    ok: { name: 'UuidResponse', schema: uuidResponseSchema, description: 'The same uuid on every call' },
    statuses: [503],
  },
  'POST /attesto-webhook': {
    operationId: 'receiveAttestoWebhook',
    tag: 'Store webhooks',
    summary: "Attesto's signed purchase events",
    description:
      'The signature is checked over the raw bytes and the body is queued as sent; the consumer ' +
      'validates it (a signed body that is not a valid event is still queued and recorded).',
    body: { name: 'AttestoWebhook', schema: attestoWebhookSchema },
    ok: {
      name: 'Received',
      schema: receivedSchema,
      description: 'Signature valid and the body is on the queue',
    },
    statuses: [401, 413],
    ingest: true,
    security: 'attestoSignature',
  },
  'POST /webhooks/apple': {
    operationId: 'receiveAppleNotification',
    tag: 'Store webhooks',
    summary: 'App Store Server Notifications V2, sent by Apple directly (when enabled)',
    description: "Authenticated by Apple's signature inside `signedPayload`, verified up to Apple's root.",
    body: { name: 'AppleNotification', schema: appleNotificationBodySchema },
    ok: { name: 'Received', schema: receivedSchema, description: 'Verified and queued' },
    statuses: [400, 401, 413, 503],
    ingest: true,
  },
  'POST /webhooks/google': {
    operationId: 'receiveGoogleNotification',
    tag: 'Store webhooks',
    summary: 'Google Play notifications over an authenticated Pub/Sub push (when enabled)',
    description: 'An authentic push that is not a DeveloperNotification is acknowledged and dead-lettered.',
    body: { name: 'PubSubPush', schema: pushBodySchema },
    ok: { name: 'Received', schema: receivedSchema, description: 'Verified and queued, or not for this app' },
    statuses: [401, 413, 503],
    ingest: true,
    security: 'pubsubPushToken',
  },
  'GET /admin/customer': {
    operationId: 'findCustomer',
    tag: 'Operator',
    summary: 'Everything about one customer, found by any reference a ticket carries',
    query: [
      {
        name: 'ref',
        description:
          'A user id, appUserId, Apple (original) transaction id, Google purchase token or order id',
        schema: z.string().check(z.minLength(1), z.maxLength(MAX_REFERENCE_LENGTH)),
      },
    ],
    ok: { name: 'CustomerView', schema: customerResponseSchema, description: 'The customer view' },
    statuses: [400, 404, 503],
  },
  'POST /admin/grants': {
    operationId: 'grantEntitlement',
    tag: 'Operator',
    summary: 'Give a user one entitlement key until a time, or for good',
    body: { name: 'GrantRequest', schema: grantBodySchema },
    ok: { name: 'GrantResponse', schema: grantResponseSchema, description: 'The grant as stored' },
    statuses: [400, 413, 415, 503],
  },
  'POST /admin/grants/revoke': {
    operationId: 'revokeGrant',
    tag: 'Operator',
    summary: "Revoke a user's promotional grant of one key",
    body: { name: 'RevokeGrantRequest', schema: revokeGrantBodySchema },
    ok: {
      name: 'RevokeGrantResponse',
      schema: revokeGrantResponseSchema,
      description: 'The grant as revoked',
    },
    statuses: [400, 404, 413, 415, 503],
  },
  'GET /admin/export': {
    operationId: 'exportUser',
    tag: 'Operator',
    summary: 'Everything stored about one user, as one document (an access request)',
    query: [
      {
        name: 'userId',
        description: 'The app user id (the JWT sub)',
        schema: z.string().check(z.minLength(1), z.maxLength(MAX_USER_ID_LENGTH)),
      },
    ],
    ok: {
      name: 'UserExport',
      schema: exportResponseSchema,
      description: 'Every stored item that names the user',
    },
    statuses: [400, 404, 503],
  },
  'POST /admin/erase': {
    operationId: 'eraseUser',
    tag: 'Operator',
    summary: "Erase a user: no table keeps the user id or the user's appUserId",
    description:
      'Erasing a user nothing names (already erased, or never known) answers 200 with `erased: false`.',
    body: { name: 'EraseRequest', schema: eraseBodySchema },
    ok: { name: 'ErasureResponse', schema: erasureResponseSchema, description: 'What was erased' },
    statuses: [400, 413, 415, 503],
  },
  'POST /admin/transfer': {
    operationId: 'transferPurchase',
    tag: 'Operator',
    summary: 'Move a purchase to another user, with a reason, on both timelines',
    description:
      'The reference must name a purchase (a transaction id, original transaction id, purchase token or order id); ' +
      'a user reference answers 400. Moving a purchase to its owner answers 200 with `changed: false`.',
    body: { name: 'TransferRequest', schema: transferBodySchema },
    ok: {
      name: 'TransferResponse',
      schema: transferResponseSchema,
      description: 'The purchase after the move',
    },
    statuses: [400, 404, 413, 415, 503],
  },
  'POST /admin/resync': {
    operationId: 'resyncPurchase',
    tag: 'Operator',
    summary: 'Re-verify a purchase through Attesto now and apply the answer through the ordered write path',
    description: 'Nothing is written when Attesto fails (503) or refuses (502, naming its code).',
    body: { name: 'ResyncRequest', schema: resyncBodySchema },
    ok: {
      name: 'ResyncResponse',
      schema: resyncResponseSchema,
      description: 'The purchase after the re-sync',
    },
    statuses: [400, 404, 413, 415, 502, 503],
  },
};
