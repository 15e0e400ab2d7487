// The tables of shared/store/tables.ts as TableV2s. Physical names are left to CloudFormation so
// two stages (or two copies of the product) can live in one account.
import type { RemovalPolicy } from 'aws-cdk-lib';
import { type Attribute, AttributeType, Billing, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyDef, TableDef } from '../../shared/store/tables';
import {
  entitlementEventsTable,
  historyTable,
  processedEventsTable,
  purchasesTable,
  rateLimitsTable,
  userIdsTable,
} from '../../shared/store/tables';
import type { BoundTable, TableKey } from './function-factory';

export interface DataTablesProps {
  removalPolicy: RemovalPolicy;
  deletionProtection: boolean;
}

const attribute = (key: KeyDef): Attribute => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

export class DataTables extends Construct {
  readonly purchases: TableV2;
  readonly userIds: TableV2;
  readonly processedEvents: TableV2;
  readonly rateLimits: TableV2;
  readonly history: TableV2;
  readonly entitlementEvents: TableV2;
  readonly byKey: Record<TableKey, BoundTable>;

  constructor(scope: Construct, id: string, props: DataTablesProps) {
    super(scope, id);
    const build = (def: TableDef) =>
      new TableV2(this, def.id, {
        partitionKey: attribute(def.partitionKey),
        ...(def.sortKey ? { sortKey: attribute(def.sortKey) } : {}),
        billing: Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.deletionProtection,
        removalPolicy: props.removalPolicy,
        ...(def.timeToLiveAttribute ? { timeToLiveAttribute: def.timeToLiveAttribute } : {}),
        ...(def.stream ? { dynamoStream: StreamViewType.NEW_IMAGE } : {}),
        globalSecondaryIndexes: def.globalSecondaryIndexes.map((index) => ({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        })),
      });
    this.purchases = build(purchasesTable);
    this.userIds = build(userIdsTable);
    this.processedEvents = build(processedEventsTable);
    this.rateLimits = build(rateLimitsTable);
    this.history = build(historyTable);
    this.entitlementEvents = build(entitlementEventsTable);
    this.byKey = {
      purchases: { table: this.purchases, def: purchasesTable },
      userIds: { table: this.userIds, def: userIdsTable },
      processedEvents: { table: this.processedEvents, def: processedEventsTable },
      rateLimits: { table: this.rateLimits, def: rateLimitsTable },
      history: { table: this.history, def: historyTable },
      entitlementEvents: { table: this.entitlementEvents, def: entitlementEventsTable },
    };
  }
}
