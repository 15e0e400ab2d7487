import { describe, expect, it } from 'vitest';
import { failedMessageIds, toSqsRecord } from '../../dev/local/sqs-poller';

describe('reading a ReportBatchItemFailures answer as Lambda does', () => {
  const ids = ['m1', 'm2', 'm3'];

  it('treats no answer or an empty list as all succeeded', () => {
    expect(failedMessageIds(undefined, ids)).toEqual([]);
    expect(failedMessageIds(null, ids)).toEqual([]);
    expect(failedMessageIds({}, ids)).toEqual([]);
    expect(failedMessageIds({ batchItemFailures: [] }, ids)).toEqual([]);
  });

  it('fails exactly the listed records', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual(['m2']);
  });

  it('fails the whole batch for an unknown, empty or malformed identifier', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'nope' }] }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: '' }] }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: [{}] }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: 'm1' }, ids)).toEqual(ids);
  });
});

describe('building an SQS record', () => {
  it('maps message attributes to Lambda shape, binary values as base64', () => {
    const record = toSqsRecord(
      {
        MessageId: 'id',
        ReceiptHandle: 'rh',
        Body: 'b',
        MD5OfBody: 'md5',
        Attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1' },
        MessageAttributes: { bin: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) } },
      },
      'arn:aws:sqs:eu-west-1:000000000000:q',
      'eu-west-1',
    );
    expect(record.messageAttributes.bin).toEqual({
      binaryValue: 'AQID',
      stringListValues: [],
      binaryListValues: [],
      dataType: 'Binary',
    });
    expect(record.attributes.ApproximateReceiveCount).toBe('2');
    expect(record.eventSource).toBe('aws:sqs');
    expect(record.awsRegion).toBe('eu-west-1');
  });
});
