// Creates the stack's tables and queues in the local emulators from shared/store/tables.ts and
// infra/resources.ts, the same definitions the CDK stack deploys.
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { functions, timeoutSecondsOf } from '../../infra/functions';
import { webhookQueue } from '../../infra/resources';
import { attemptsToCover } from '../../shared/events/retry-schedule';
import { type TableDef, tables } from '../../shared/store/tables';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface LocalResources {
  tableNames: Record<TableDef['envVar'], string>;
  queueUrl: string;
  dlqUrl: string;
  /**
   * The FIFO queue of outbound webhooks and its DLQ, as a stage with a webhook URL has them. Not in
   * `env`: the publisher sends to it only when told EVENTS_DELIVERY_QUEUE_URL.
   */
  eventsQueueUrl: string;
  eventsDlqUrl: string;
  /** Environment variables that point the functions at these resources. */
  env: Record<string, string>;
}

function createTableInput(def: TableDef, tableName: string): CreateTableCommandInput {
  const keyNames = new Map<string, 'S' | 'N'>();
  const add = (k?: { name: string; type: 'S' | 'N' }) => {
    if (k) keyNames.set(k.name, k.type);
  };
  add(def.partitionKey);
  add(def.sortKey);
  for (const gsi of def.globalSecondaryIndexes) {
    add(gsi.partitionKey);
    add(gsi.sortKey);
  }
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...keyNames].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } } : {}),
    ...(def.globalSecondaryIndexes.length
      ? {
          GlobalSecondaryIndexes: def.globalSecondaryIndexes.map((gsi) => ({
            IndexName: gsi.indexName,
            KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}

async function addMissingIndexes(ddb: DynamoDBClient, def: TableDef, tableName: string): Promise<void> {
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
  const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  const wanted = createTableInput(def, tableName);
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    if (existing.has(index.IndexName)) continue;
    const keys = new Set(index.KeySchema?.map((k) => k.AttributeName));
    await ddb.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: wanted.AttributeDefinitions?.filter((a) => keys.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

export async function provisionLocal(options: {
  ddbEndpoint: string;
  sqsEndpoint: string;
  /** Prefix for every table and queue name, so independent test files never share state. */
  prefix?: string;
}): Promise<LocalResources> {
  const prefix = options.prefix ?? '';
  const ddb = new DynamoDBClient({
    endpoint: options.ddbEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  });
  try {
    const tableNames = {} as Record<TableDef['envVar'], string>;
    for (const def of tables) {
      const name = `${prefix}${def.localName}`;
      tableNames[def.envVar] = name;
      try {
        await ddb.send(new CreateTableCommand(createTableInput(def, name)));
        if (def.timeToLiveAttribute) {
          await ddb.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true },
            }),
          );
        }
      } catch (error) {
        // Persisted local data: the table already exists from an earlier run; an index added
        // since then is added to it.
        if (!(error instanceof ResourceInUseException)) throw error;
        await addMissingIndexes(ddb, def, name);
      }
    }

    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}${webhookQueue.dlqLocalName}`,
        Attributes: { MessageRetentionPeriod: String(webhookQueue.dlqRetentionSeconds) },
      }),
    );
    const dlqUrl = dlq.QueueUrl as string;
    const dlqAttrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}${webhookQueue.localName}`,
        Attributes: {
          VisibilityTimeout: String(webhookQueue.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(webhookQueue.retentionSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn,
            maxReceiveCount: webhookQueue.maxReceiveCount,
          }),
        },
      }),
    );
    const queueUrl = queue.QueueUrl as string;

    // Outbound webhooks: FIFO with explicit deduplication, as infra/constructs/outbound-events.ts.
    const eventsDlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}entitlement-webhooks-dlq.fifo`,
        Attributes: { FifoQueue: 'true', MessageRetentionPeriod: String(14 * 24 * 3600) },
      }),
    );
    const eventsDlqUrl = eventsDlq.QueueUrl as string;
    const eventsDlqAttrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: eventsDlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const eventsQueue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}entitlement-webhooks.fifo`,
        Attributes: {
          FifoQueue: 'true',
          ContentBasedDeduplication: 'false',
          VisibilityTimeout: String(6 * timeoutSecondsOf(functions['events-webhook'])),
          MessageRetentionPeriod: String(4 * 24 * 3600),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: eventsDlqAttrs.Attributes?.QueueArn,
            maxReceiveCount: attemptsToCover(),
          }),
        },
      }),
    );
    const eventsQueueUrl = eventsQueue.QueueUrl as string;

    return {
      tableNames,
      queueUrl,
      dlqUrl,
      eventsQueueUrl,
      eventsDlqUrl,
      env: {
        ...tableNames,
        [webhookQueue.envVar]: queueUrl,
        WEBHOOK_DLQ_URL: dlqUrl,
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: options.ddbEndpoint,
        AWS_ENDPOINT_URL_SQS: options.sqsEndpoint,
      },
    };
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}
