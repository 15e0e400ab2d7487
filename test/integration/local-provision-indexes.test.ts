// `npm start` with persisted data: a purchases table created by an earlier version (without the
// due-for-a-check index) gets the index added, so reconciliation works without wiping .local/.
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, provisionLocal } from '../../dev/local/provision';

describe('local provisioning of an existing table', () => {
  it('adds an index the table was created without', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}-`;
    const ddb = new DynamoDBClient({
      endpoint: inject('ddbEndpoint'),
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const TableName = `${prefix}purchases`;
    await ddb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'userId', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byUser',
            KeySchema: [
              { AttributeName: 'userId', KeyType: 'HASH' },
              { AttributeName: 'pk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    await provisionLocal({ ddbEndpoint: inject('ddbEndpoint'), sqsEndpoint: inject('sqsEndpoint'), prefix });
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName }));
    expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual([
      'byUser',
      'checkDue',
    ]);
    ddb.destroy();
  });
});
