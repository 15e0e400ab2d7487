// Every version the entitlement-events table's items ever had, read back from the table's
// DynamoDB stream in DynamoDB Local: the same record of the outbox the publisher reads, so a
// version that was written and overwritten a moment later is still seen.
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { EntitlementsChangedEvent } from '../../shared/domain/entitlement-events';
import { tableName } from '../../shared/store/dynamo-client';

export interface OutboxVersion {
  userId: string;
  sequence: number;
  eventId: string;
  event: EntitlementsChangedEvent;
  raw: Record<string, unknown>;
}

/** Every new image the stream holds, in stream order per item (shards read from their start). */
export async function outboxVersions(): Promise<OutboxVersion[]> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const table = tableName('ENTITLEMENT_EVENTS_TABLE');
  const { Table } = await new DynamoDBClient({ endpoint }).send(
    new DescribeTableCommand({ TableName: table }),
  );
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`${table} has no stream`);
  const streams = new DynamoDBStreamsClient({ endpoint });
  const versions: OutboxVersion[] = [];
  let shardStart: string | undefined;
  do {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: shardStart }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      // An open shard hands out iterators forever: stop at the first empty page.
      while (ShardIterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
        for (const record of page.Records ?? []) {
          const image = record.dynamodb?.NewImage;
          if (!image) continue;
          const raw = unmarshall(image as Parameters<typeof unmarshall>[0]);
          versions.push({
            userId: raw.userId as string,
            sequence: raw.sequence as number,
            eventId: raw.eventId as string,
            event: JSON.parse(raw.event as string) as EntitlementsChangedEvent,
            raw,
          });
        }
        if ((page.Records ?? []).length === 0) break;
        ShardIterator = page.NextShardIterator;
      }
    }
    shardStart = StreamDescription?.LastEvaluatedShardId;
  } while (shardStart);
  return versions;
}

/** The versions of one user's item, in the order they were written. */
export async function eventsOf(userId: string): Promise<OutboxVersion[]> {
  return (await outboxVersions()).filter((v) => v.userId === userId);
}
