// The tables, defined once. The CDK stack builds TableV2s from these, the local runtime creates the
// same tables in DynamoDB Local, and the stores read their key and index names from them, so the
// three can never drift apart.

export type KeyType = 'S' | 'N';

export interface KeyDef {
  name: string;
  type: KeyType;
}

export interface IndexDef {
  indexName: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
}

export interface TableDef {
  /** Logical id in the stack and the base of the local table name. */
  id: 'Purchases' | 'UserIds' | 'ProcessedEvents' | 'RateLimits' | 'History' | 'EntitlementEvents';
  /** Environment variable through which functions receive the physical table name. */
  envVar:
    | 'PURCHASES_TABLE'
    | 'USER_IDS_TABLE'
    | 'PROCESSED_EVENTS_TABLE'
    | 'RATE_LIMITS_TABLE'
    | 'HISTORY_TABLE'
    | 'ENTITLEMENT_EVENTS_TABLE';
  localName: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  globalSecondaryIndexes: IndexDef[];
  /** Attribute holding an epoch-seconds expiry that DynamoDB deletes after. */
  timeToLiveAttribute?: string;
  /** A DynamoDB stream of each item's new image after every change. */
  stream?: 'NEW_IMAGE';
}

export const BY_USER_INDEX = 'byUser';
/** Purchases due for a reconciliation check (shared/store/check-due-attributes.ts): sparse. */
export const CHECK_DUE_INDEX = 'checkDue';

/**
 * purchases: one item per store purchase (`pk = <platform>#<subjectKey>`), alias items mapping
 * other identifiers to a purchase, and consumable credit ledger items. Only purchase items carry
 * `userId`, so only they appear in the sparse `byUser` index.
 */
export const purchasesTable: TableDef = {
  id: 'Purchases',
  envVar: 'PURCHASES_TABLE',
  localName: 'purchases',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: BY_USER_INDEX,
      partitionKey: { name: 'userId', type: 'S' },
      sortKey: { name: 'pk', type: 'S' },
    },
    // Only purchases that may be stale carry `checkDue` (a shard, `due#0`…) and `checkAt` (ISO),
    // so a reconciliation pass reads the due ones and never the table.
    {
      indexName: CHECK_DUE_INDEX,
      partitionKey: { name: 'checkDue', type: 'S' },
      sortKey: { name: 'checkAt', type: 'S' },
    },
  ],
};

/** user-ids: `user#<userId> → uuid` and `uuid#<uuid> → userId`, written together. */
export const userIdsTable: TableDef = {
  id: 'UserIds',
  envVar: 'USER_IDS_TABLE',
  localName: 'user-ids',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
};

/** processed-events: one marker per applied event id, kept 30 days (TTL on `ttl`). */
export const processedEventsTable: TableDef = {
  id: 'ProcessedEvents',
  envVar: 'PROCESSED_EVENTS_TABLE',
  localName: 'processed-events',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
  timeToLiveAttribute: 'ttl',
};

/**
 * rate-limits: one counter per user and window (`pk = attesto-calls#<userId>#<windowStart>`),
 * deleted by TTL once its window is over. A table of its own: the counters churn on every
 * verify, expire within minutes and hold nothing worth a backup, so they stay out of the
 * purchases table (its alias, credit and byUser layout, retention and restores) and the only
 * grant the limiter needs is UpdateItem here.
 */
export const rateLimitsTable: TableDef = {
  id: 'RateLimits',
  envVar: 'RATE_LIMITS_TABLE',
  localName: 'rate-limits',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
  timeToLiveAttribute: 'ttl',
};

export const HISTORY_BY_USER_INDEX = 'byUser';
export const HISTORY_BY_PREVIOUS_USER_INDEX = 'byPreviousUser';

/**
 * history: one append-only record per change of a purchase (`pk` = the purchase key, `sk` = the
 * purchase's write counter after the change, zero-padded), written in the same transaction as
 * the change. A table of its own rather than items in purchases: it grows without bound, has its
 * own retention (TTL on `ttl`, a stage setting) and its own user indexes, and keeping it out of
 * purchases keeps the purchases byUser index and its queries as they are. `byUser` holds each
 * record under the owner after the change (or before, when it has none after); `byPreviousUser`
 * under the owner before, only when the change moved the purchase, so a move shows on both users.
 */
export const historyTable: TableDef = {
  id: 'History',
  envVar: 'HISTORY_TABLE',
  localName: 'history',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: HISTORY_BY_USER_INDEX,
      partitionKey: { name: 'userId', type: 'S' },
      sortKey: { name: 'at', type: 'S' },
    },
    {
      indexName: HISTORY_BY_PREVIOUS_USER_INDEX,
      partitionKey: { name: 'previousUserId', type: 'S' },
      sortKey: { name: 'at', type: 'S' },
    },
  ],
  timeToLiveAttribute: 'ttl',
};

/**
 * entitlement-events: the outbox of outbound `entitlements.changed` events, one item per user
 * (`pk = user#<userId>`) holding that user's newest event and its sequence number, rewritten in
 * the same transaction as every change of the user's entitlement set. One item per user because
 * a DynamoDB stream keeps the order of changes to one item, so the stream hands the events on in
 * sequence order per user.
 */
export const entitlementEventsTable: TableDef = {
  id: 'EntitlementEvents',
  envVar: 'ENTITLEMENT_EVENTS_TABLE',
  localName: 'entitlement-events',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
  stream: 'NEW_IMAGE',
};

export const tables = [
  purchasesTable,
  userIdsTable,
  processedEventsTable,
  rateLimitsTable,
  historyTable,
  entitlementEventsTable,
] as const;
