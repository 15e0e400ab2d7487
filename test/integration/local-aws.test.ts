import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalResources } from '../../dev/local/provision';
import { webhookQueue } from '../../infra/resources';
import { purchasesTable } from '../../shared/store/tables';
import { useLocalAws } from '../support/local-aws';

describe('local provisioning from the stack definitions', () => {
  let res: LocalResources;
  beforeAll(async () => {
    res = await useLocalAws();
  });

  it('creates the purchases table with the byUser index and processed-events with TTL', async () => {
    const ddb = new DynamoDBClient({});
    const table = await ddb.send(new DescribeTableCommand({ TableName: res.tableNames.PURCHASES_TABLE }));
    expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    // DynamoDB Local lists indexes in no particular order.
    expect(table.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName).sort()).toEqual(
      purchasesTable.globalSecondaryIndexes.map((g) => g.indexName).sort(),
    );
    const ttl = await ddb.send(
      new DescribeTimeToLiveCommand({ TableName: res.tableNames.PROCESSED_EVENTS_TABLE }),
    );
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
  });

  it('creates the webhook queue with its DLQ redrive policy and visibility timeout', async () => {
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: res.queueUrl, AttributeNames: ['All'] }),
    );
    expect(Number(attrs.Attributes?.VisibilityTimeout)).toBe(webhookQueue.visibilityTimeoutSeconds);
    const redrive = JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}');
    expect(redrive.maxReceiveCount).toBe(webhookQueue.maxReceiveCount);
    expect(redrive.deadLetterTargetArn).toMatch(/attesto-events-dlq$/);
  });
});
