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
  id: 'Purchases' | 'UserIds' | 'ProcessedEvents' | 'RateLimits';
  /** Environment variable through which functions receive the physical table name. */
  envVar: 'PURCHASES_TABLE' | 'USER_IDS_TABLE' | 'PROCESSED_EVENTS_TABLE' | 'RATE_LIMITS_TABLE';
  localName: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  globalSecondaryIndexes: IndexDef[];
  /** Attribute holding an epoch-seconds expiry that DynamoDB deletes after. */
  timeToLiveAttribute?: string;
}

export const BY_USER_INDEX = 'byUser';

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

export const tables = [purchasesTable, userIdsTable, processedEventsTable, rateLimitsTable] as const;
