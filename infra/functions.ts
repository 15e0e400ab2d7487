// Every Lambda of the product and exactly what it may touch. The CDK function factory grants
// these accesses (and sets the matching environment variables) and nothing more; the local
// runtime reads the same list to know which handler file serves which function and how long it
// may run.
import { CONSUMER_TIMEOUT_SECONDS } from './resources';

/** A function whose definition sets no timeout gets this one; API Gateway itself gives up at 30 s. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/** The DynamoDB calls on a table's own key (a transaction needs the action of each item; Query reads by key). */
export type ItemAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'Query';

/** Exactly the calls a function makes on one table: no Scan, DeleteItem or batch unless listed. */
export interface TableAccess {
  items?: ItemAction[];
  /** Global secondary indexes it queries (shared/store/tables.ts). */
  queries?: string[];
}

export type TableKey =
  | 'purchases'
  | 'userIds'
  | 'processedEvents'
  | 'rateLimits'
  | 'history'
  | 'entitlementEvents';

/** The two Attesto secrets: the API key (verify calls) and the webhook signing secrets. */
export type SecretKey = 'attestoApiKey' | 'attestoWebhookSecrets';

export interface FunctionDef {
  /** Folder under functions/ holding handler.ts; also the function's logical name. */
  name: FunctionName;
  description: string;
  tables: Partial<Record<TableKey, TableAccess>>;
  /** Sends to the webhook queue. */
  sendsToQueue?: boolean;
  /** The Attesto secrets it reads. */
  secrets?: SecretKey[];
  /** Unset: DEFAULT_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
  memoryMb?: number;
  /**
   * The stage setting (reservedConcurrency.<key>) that keeps concurrency for this function alone,
   * which is also its ceiling; unset: the account's shared pool.
   */
  reservedConcurrency?: 'webhookConsumer' | 'attestoWebhook';
}

// verify and restore: alias and purchase reads, the recording write (UpdateItem, or a
// transaction of Update + Put for aliases and credits), the byUser query, and one counter update
// per Attesto call (shared/purchases/attesto-call-limit.ts).
const verifyingTables: FunctionDef['tables'] = {
  purchases: { items: ['GetItem', 'PutItem', 'UpdateItem'], queries: ['byUser'] },
  // Who the store binds a purchase to: the caller's UUID and, for another UUID, its user.
  userIds: { items: ['GetItem'] },
  rateLimits: { items: ['UpdateItem'] },
  // The history record of a change, a Put in the change's transaction (shared/store/history.ts).
  history: { items: ['PutItem'] },
};

export type FunctionName =
  | 'verify-apple'
  | 'verify-google'
  | 'entitlements'
  | 'restore'
  | 'products'
  | 'uuid'
  | 'attesto-webhook'
  | 'apple-notifications'
  | 'google-notifications'
  | 'webhook-consumer'
  | 'admin-customer'
  | 'admin-grant'
  | 'admin-revoke-grant'
  | 'reconcile';

export const functions: Record<FunctionName, FunctionDef> = {
  'verify-apple': {
    name: 'verify-apple',
    description: 'Verifies an App Store transaction through Attesto and records the purchase',
    tables: verifyingTables,
    secrets: ['attestoApiKey'],
  },
  'verify-google': {
    name: 'verify-google',
    description: 'Verifies a Google Play purchase through Attesto and records the purchase',
    tables: verifyingTables,
    secrets: ['attestoApiKey'],
  },
  entitlements: {
    name: 'entitlements',
    description: "Returns the user's active entitlements",
    tables: { purchases: { queries: ['byUser'] } },
  },
  restore: {
    name: 'restore',
    description: "Verifies a device's purchase history and returns the user's entitlements",
    tables: verifyingTables,
    secrets: ['attestoApiKey'],
  },
  products: {
    name: 'products',
    description: 'Returns the product catalog manifest',
    tables: {},
  },
  uuid: {
    name: 'uuid',
    description: "Mints or returns the user's appUserId UUID",
    tables: { userIds: { items: ['GetItem', 'PutItem'] } },
  },
  'attesto-webhook': {
    name: 'attesto-webhook',
    description: 'Checks the Attesto webhook signature and enqueues the event',
    tables: {},
    sendsToQueue: true,
    secrets: ['attestoWebhookSecrets'],
    reservedConcurrency: 'attestoWebhook',
  },
  // The stores' own notifications: verified against the store's signature, then queued like
  // Attesto's. Queue send only: the consumer re-reads Google purchases through Attesto.
  'apple-notifications': {
    name: 'apple-notifications',
    description: "Verifies App Store Server Notifications V2 against Apple's certificates and enqueues them",
    tables: {},
    sendsToQueue: true,
  },
  'google-notifications': {
    name: 'google-notifications',
    description: "Verifies Google Play notifications' Pub/Sub push token and enqueues them",
    tables: {},
    sendsToQueue: true,
  },
  'webhook-consumer': {
    name: 'webhook-consumer',
    description: 'Applies queued store events to the purchase state',
    // applyEvent (marker Put, purchase Update, history Put, alias Puts), alias and purchase reads, the
    // appUserId → user lookup, markProcessed (Put). Google events re-read through Attesto.
    tables: {
      purchases: { items: ['GetItem', 'PutItem', 'UpdateItem'] },
      userIds: { items: ['GetItem'] },
      processedEvents: { items: ['PutItem'] },
      history: { items: ['PutItem'] },
    },
    secrets: ['attestoApiKey'],
    // The queue's visibility timeout is derived from it (infra/resources.ts).
    timeoutSeconds: CONSUMER_TIMEOUT_SECONDS,
    reservedConcurrency: 'webhookConsumer',
  },
  'admin-customer': {
    name: 'admin-customer',
    description:
      'Operator lookup: finds a customer by any reference and returns their purchases, entitlements and history',
    // Reads only: the alias and purchase items (GetItem), the user's purchases (byUser), and the
    // user ↔ uuid items in both directions.
    tables: {
      purchases: { items: ['GetItem'], queries: ['byUser'] },
      userIds: { items: ['GetItem'] },
      // The timeline: a user's records through both user indexes, an unheld purchase's by its key.
      history: { items: ['Query'], queries: ['byUser', 'byPreviousUser'] },
    },
  },
  'admin-grant': {
    name: 'admin-grant',
    description: 'Operator: grants a user an entitlement key until a time or for good, with a reason',
    // The grant item (read, then Put pinned to its rev) and its history record, in one transaction.
    tables: { purchases: { items: ['GetItem', 'PutItem'] }, history: { items: ['PutItem'] } },
  },
  'admin-revoke-grant': {
    name: 'admin-revoke-grant',
    description: "Operator: revokes a user's promotional grant (kept on record, marked revoked)",
    tables: { purchases: { items: ['GetItem', 'PutItem'] }, history: { items: ['PutItem'] } },
  },
  reconcile: {
    name: 'reconcile',
    description:
      'Scheduled: re-verifies through Attesto the purchases whose notifications may have gone missing',
    // The due index (never the table), the purchase read and the recording write (Update, with
    // history and alias Puts in its transaction), the appUserId → user lookup of an unowned purchase.
    tables: {
      purchases: { items: ['GetItem', 'PutItem', 'UpdateItem'], queries: ['checkDue'] },
      userIds: { items: ['GetItem'] },
      history: { items: ['PutItem'] },
    },
    secrets: ['attestoApiKey'],
    // A pass stops starting checks well before this (functions/reconcile/handler.ts).
    timeoutSeconds: 300,
  },
};

export function timeoutSecondsOf(def: FunctionDef): number {
  return def.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
}
