// Every Lambda of the product and exactly what it may touch. The CDK function factory grants
// these accesses (and sets the matching environment variables) and nothing more; the local
// runtime reads the same list to know which handler file serves which function.

export type TableAccess = 'read' | 'write' | 'readWrite';

export interface FunctionDef {
  /** Folder under functions/ holding handler.ts; also the function's logical name. */
  name: FunctionName;
  description: string;
  tables: Partial<Record<'purchases' | 'userIds' | 'processedEvents', TableAccess>>;
  /** Sends to the webhook queue. */
  sendsToQueue?: boolean;
  /** Reads the Attesto secret (API key and webhook secrets). */
  readsSecret?: boolean;
  timeoutSeconds?: number;
  memoryMb?: number;
}

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
  | 'webhook-consumer';

export const functions: Record<FunctionName, FunctionDef> = {
  'verify-apple': {
    name: 'verify-apple',
    description: 'Verifies an App Store transaction through Attesto and records the purchase',
    tables: { purchases: 'readWrite', userIds: 'read' },
    readsSecret: true,
  },
  'verify-google': {
    name: 'verify-google',
    description: 'Verifies a Google Play purchase through Attesto and records the purchase',
    tables: { purchases: 'readWrite', userIds: 'read' },
    readsSecret: true,
  },
  entitlements: {
    name: 'entitlements',
    description: "Returns the user's active entitlements",
    tables: { purchases: 'read' },
  },
  restore: {
    name: 'restore',
    description: "Verifies a device's purchase history and returns the user's entitlements",
    tables: { purchases: 'readWrite', userIds: 'read' },
    readsSecret: true,
  },
  products: {
    name: 'products',
    description: 'Returns the product catalog manifest',
    tables: {},
  },
  uuid: {
    name: 'uuid',
    description: "Mints or returns the user's appUserId UUID",
    tables: { userIds: 'readWrite' },
  },
  'attesto-webhook': {
    name: 'attesto-webhook',
    description: 'Checks the Attesto webhook signature and enqueues the event',
    tables: {},
    sendsToQueue: true,
    readsSecret: true,
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
    tables: { purchases: 'readWrite', userIds: 'read', processedEvents: 'readWrite' },
    readsSecret: true,
  },
};
