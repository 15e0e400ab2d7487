// Stands in for Lambda's DynamoDB stream event source mapping: reads the outbox table's stream in
// DynamoDB Local shard by shard, hands batches to the publisher as real DynamoDBStreamEvents, and
// honours ReportBatchItemFailures (the batch is read again from the first failed record). After
// as many retries as the deployed mapping allows, the batch is reported as dead-lettered and the
// shard moves on, as the on-failure destination does on AWS.
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { PUBLISHER_STREAM } from '../../infra/resources';
import { createLambdaContext, invokeWithTimeout } from './lambda-context';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;

export interface StreamBatchOutcome {
  records: number;
  /** Sequence number the batch failed at, if it did. */
  failedAt?: string;
  error?: unknown;
  /** Set when the batch was given up on after the retries (the publisher DLQ on AWS). */
  deadLettered?: { shardId: string; first: string; last: string };
}

export interface StreamPollerOptions {
  ddb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: StreamHandler;
  functionName?: string;
  timeoutSeconds?: number;
  /** Where reading starts in shards that exist at start; shards that appear later start at their beginning. */
  startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  retryAttempts?: number;
  /** Pause between reads of an idle shard and before a retry. */
  idleMs?: number;
  region?: string;
  onBatch?: (outcome: StreamBatchOutcome) => void;
  onError?: (error: unknown) => void;
}

export interface StreamPoller {
  stop(): Promise<void>;
}

/** A stream record of the SDK in the shape Lambda hands to a function. */
export function toDynamoDbRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  return {
    eventID: record.eventID as string,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      ...(d.Keys ? { Keys: d.Keys as never } : {}),
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      SequenceNumber: d.SequenceNumber as string,
      SizeBytes: d.SizeBytes ?? 0,
      StreamViewType: d.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
}

function failedSequence(response: unknown, records: DynamoDBRecord[]): string | undefined {
  const failures = (response as Partial<DynamoDBBatchResponse> | undefined)?.batchItemFailures;
  if (!failures || failures.length === 0) return undefined;
  const ids = failures.map((f) => f.itemIdentifier);
  const positions = ids.map((id) => records.findIndex((r) => r.dynamodb?.SequenceNumber === id));
  // An identifier outside the batch fails the whole batch, as Lambda reads it.
  if (positions.some((p) => p < 0)) return records[0]?.dynamodb?.SequenceNumber;
  return records[Math.min(...positions)]?.dynamodb?.SequenceNumber;
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const idleMs = options.idleMs ?? 500;
  const retryAttempts = options.retryAttempts ?? PUBLISHER_STREAM.retryAttempts;
  const functionName = options.functionName ?? 'events-publisher';
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  const region = options.region ?? 'us-east-1';
  const abort = new AbortController();
  const signal = abort.signal;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });

  const iterator = async (streamArn: string, shardId: string, type: string, sequence?: string) =>
    (
      await options.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: type as 'LATEST',
          ...(sequence ? { SequenceNumber: sequence } : {}),
        }),
      )
    ).ShardIterator;

  const readShard = async (streamArn: string, shardId: string, startAt: 'LATEST' | 'TRIM_HORIZON') => {
    let next = await iterator(streamArn, shardId, startAt);
    let retries = 0;
    while (next && !signal.aborted) {
      const out = await options.streams.send(
        new GetRecordsCommand({ ShardIterator: next, Limit: PUBLISHER_STREAM.batchSize }),
      );
      const records = (out.Records ?? []).map((r) => toDynamoDbRecord(r, streamArn, region));
      if (records.length === 0) {
        next = out.NextShardIterator;
        if (next) await pause(idleMs);
        continue;
      }
      let failedAt: string | undefined;
      let error: unknown;
      try {
        const response = await invokeWithTimeout(functionName, timeoutSeconds, () =>
          options.handler({ Records: records }, createLambdaContext({ functionName, timeoutSeconds })),
        );
        failedAt = failedSequence(response, records);
      } catch (thrown) {
        error = thrown;
        failedAt = records[0]?.dynamodb?.SequenceNumber;
      }
      if (!failedAt) {
        retries = 0;
        options.onBatch?.({ records: records.length });
        next = out.NextShardIterator;
        continue;
      }
      retries += 1;
      if (retries > retryAttempts) {
        const deadLettered = {
          shardId,
          first: failedAt,
          last: records.at(-1)?.dynamodb?.SequenceNumber as string,
        };
        options.onBatch?.({ records: records.length, failedAt, error, deadLettered });
        retries = 0;
        next = out.NextShardIterator;
        continue;
      }
      options.onBatch?.({ records: records.length, failedAt, ...(error !== undefined ? { error } : {}) });
      await pause(idleMs * 4);
      next = await iterator(streamArn, shardId, 'AT_SEQUENCE_NUMBER', failedAt);
    }
  };

  const loop = (async () => {
    const started = new Set<string>();
    const running: Promise<void>[] = [];
    let first = true;
    while (!signal.aborted) {
      try {
        const table = await options.ddb.send(new DescribeTableCommand({ TableName: options.tableName }));
        const streamArn = table.Table?.LatestStreamArn;
        if (!streamArn) throw new Error(`${options.tableName} has no stream`);
        const description = await options.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
        for (const shard of description.StreamDescription?.Shards ?? []) {
          const shardId = shard.ShardId as string;
          if (started.has(shardId)) continue;
          started.add(shardId);
          const startAt = first ? (options.startingPosition ?? 'LATEST') : 'TRIM_HORIZON';
          running.push(
            readShard(streamArn, shardId, startAt).catch((error) => {
              if (!signal.aborted) options.onError?.(error);
              // Read again on the next round, from what is still in the stream.
              started.delete(shardId);
            }),
          );
        }
        first = false;
      } catch (error) {
        if (signal.aborted) break;
        options.onError?.(error);
      }
      // New shards are rare (DynamoDB Local opens one now and then); looking for them often only
      // adds load to the emulator the API also uses.
      await pause(first ? 1_000 : 5_000);
    }
    await Promise.all(running);
  })();

  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}
