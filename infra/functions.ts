// Every Lambda of the product and exactly what it may touch. The CDK function factory grants
// these accesses (and sets the matching environment variables) and nothing more; the local
// runtime reads the same list to know which handler file serves which function and how long it
// may run.
import { CONSUMER_TIMEOUT_SECONDS } from './resources';

/** A function whose definition sets no timeout gets this one; API Gateway itself gives up at 30 s. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/** The DynamoDB calls on a table's own key (a transaction needs the action of each item; Query reads by key). */
export type ItemAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'Query'
  | 'ConditionCheckItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'Scan';

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

/**
 * The two Attesto secrets (the API key for verify calls, the webhook signing secrets) and the
 * secrets that sign the product's own outbound webhooks.
 */
export type SecretKey = 'attestoApiKey' | 'attestoWebhookSecrets' | 'eventsWebhookSecrets';

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

/**
 * What every writer of a user's entitlement set adds (shared/store/outbox.ts): the user's outbox
 * item (read, then a Put or a condition check in the change's transaction) and, on purchases,
 * condition checks pinning the user's other holdings. Merged into each writer's own access.
 */
function outboxTables(): Pick<FunctionDef['tables'], 'entitlementEvents'> {
  return { entitlementEvents: { items: ['GetItem', 'PutItem', 'ConditionCheckItem'] } };
}

// verify and restore: alias and purchase reads, the recording write (UpdateItem, or a
// transaction of Update + Put for aliases and credits), the byUser query, and one counter update
// per Attesto call (shared/purchases/attesto-call-limit.ts).
const verifyingTables: FunctionDef['tables'] = {
  purchases: { items: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'], queries: ['byUser'] },
  // Who the store binds a purchase to: the caller's UUID and, for another UUID, its user.
  userIds: { items: ['GetItem'] },
  rateLimits: { items: ['UpdateItem'] },
  // The history record of a change, a Put in the change's transaction (shared/store/history.ts).
  history: { items: ['PutItem'] },
  ...outboxTables(),
};

// The grant item (read, then Put pinned to its rev), its history record and the outbox: the
// user's holdings (byUser), the pins on them, their UUID for the event.
const grantTables: FunctionDef['tables'] = {
  purchases: { items: ['GetItem', 'PutItem', 'ConditionCheckItem'], queries: ['byUser'] },
  userIds: { items: ['GetItem'] },
  history: { items: ['PutItem'] },
  ...outboxTables(),
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
  | 'admin-export'
  | 'admin-erase'
  | 'admin-transfer'
  | 'admin-resync'
  | 'events-publisher'
  | 'events-webhook'
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
    // With the outbox: the owner's holdings (byUser) and the pins on them.
    tables: {
      purchases: { items: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'], queries: ['byUser'] },
      userIds: { items: ['GetItem'] },
      processedEvents: { items: ['PutItem'] },
      history: { items: ['PutItem'] },
      ...outboxTables(),
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
    tables: grantTables,
  },
  'admin-revoke-grant': {
    name: 'admin-revoke-grant',
    description: "Operator: revokes a user's promotional grant (kept on record, marked revoked)",
    tables: grantTables,
  },
  // Export and erasure (shared/store/user-data.ts): byUser queries, a filtered Scan where no key
  // leads to the items (credits and purchases naming the uuid, rate-limit counters), and for the
  // erasure conditional updates, batched deletes, the history rewrites and the audit record.
  'admin-export': {
    name: 'admin-export',
    description: 'Operator: everything stored about a user as one JSON document',
    tables: {
      purchases: { items: ['GetItem', 'Scan'], queries: ['byUser'] },
      userIds: { items: ['GetItem'] },
      history: { items: ['Query'], queries: ['byUser', 'byPreviousUser'] },
      rateLimits: { items: ['Scan'] },
      entitlementEvents: { items: ['GetItem'] },
    },
    timeoutSeconds: 29,
  },
  'admin-erase': {
    name: 'admin-erase',
    description:
      "Operator: erases a user's personal data from every table (purchases stay, without an owner)",
    tables: {
      // GetItem: a conditional update that lost to a concurrent write re-reads the purchase.
      purchases: { items: ['Scan', 'GetItem', 'UpdateItem', 'BatchWriteItem'], queries: ['byUser'] },
      userIds: { items: ['GetItem', 'DeleteItem'] },
      history: { items: ['Query', 'PutItem', 'BatchWriteItem'], queries: ['byUser', 'byPreviousUser'] },
      rateLimits: { items: ['Scan', 'BatchWriteItem'] },
      entitlementEvents: { items: ['GetItem', 'PutItem', 'BatchWriteItem'] },
    },
    // As long as API Gateway waits: a user too large for one call is finished by calling again.
    timeoutSeconds: 29,
  },
  'admin-transfer': {
    name: 'admin-transfer',
    description: 'Operator: moves a purchase to another user, with a reason, recorded on both users',
    // The reference lookup (GetItem, the byUser query, the user ↔ uuid items), then one
    // transaction: the purchase's Update pinned to its rev, its history Put, any credit's Update.
    // Both users' outbox items ride in that transaction, with the pins of their other holdings.
    tables: {
      purchases: { items: ['GetItem', 'UpdateItem', 'ConditionCheckItem'], queries: ['byUser'] },
      userIds: { items: ['GetItem'] },
      history: { items: ['PutItem'] },
      ...outboxTables(),
    },
  },
  'admin-resync': {
    name: 'admin-resync',
    description: 'Operator: re-verifies a purchase through Attesto now and applies the answer like a verify',
    // The reference lookup, then the verify path's write (recordSnapshot: UpdateItem, or a
    // transaction of Update + history Put + alias Puts). No rate-limit counter: operators only.
    tables: {
      purchases: { items: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'], queries: ['byUser'] },
      userIds: { items: ['GetItem'] },
      history: { items: ['PutItem'] },
      ...outboxTables(),
    },
    secrets: ['attestoApiKey'],
  },
  // Triggered by the entitlement-events stream; its stream read, PutEvents on the bus and send to
  // the delivery queue are granted with the event source (infra/constructs/outbound-events.ts).
  'events-publisher': {
    name: 'events-publisher',
    description: 'Publishes outbox events to the EventBridge bus and the webhook delivery queue, in order',
    tables: {},
  },
  // In a stage with a webhook URL: reads the delivery queue and its signing secret (both granted
  // with the event source, infra/constructs/outbound-events.ts) and posts each event to the app.
  'events-webhook': {
    name: 'events-webhook',
    description: "Delivers entitlement events to the app's webhook URL, signed per Standard Webhooks",
    tables: {},
    // The receiver gets 10 s (functions/events-webhook/handler.ts); the queue's visibility timeout is derived from this.
    timeoutSeconds: 30,
  },
  reconcile: {
    name: 'reconcile',
    description:
      'Scheduled: re-verifies through Attesto the purchases whose notifications may have gone missing',
    // The due index (never the table), the purchase read and the recording write (Update, with
    // history and alias Puts in its transaction), the appUserId → user lookup of an unowned purchase,
    // and the owner's outbox event with the pins of their other holdings (shared/store/outbox.ts).
    tables: {
      purchases: {
        items: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'],
        queries: ['checkDue', 'byUser'],
      },
      userIds: { items: ['GetItem'] },
      history: { items: ['PutItem'] },
      ...outboxTables(),
    },
    secrets: ['attestoApiKey'],
    // A pass stops starting checks well before this (functions/reconcile/handler.ts).
    timeoutSeconds: 300,
  },
};

export function timeoutSecondsOf(def: FunctionDef): number {
  return def.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
}
