import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

// Until the consumer lands, every record is reported as failed so nothing is dropped: records
// are retried and end in the dead-letter queue, from which they can be redriven.
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => ({
  batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })),
});
