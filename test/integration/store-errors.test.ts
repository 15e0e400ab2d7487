// Failures DynamoDB Local cannot produce on demand, forced with aws-sdk-client-mock.
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { ServiceUnavailableError } from '../../shared/http/errors';
import { storeError } from '../../shared/store/dynamo-client';
import { applyEvent, markProcessed } from '../../shared/store/processed-events';
import { getPurchase, recordSnapshot } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';

const ddb = mockClient(DynamoDBDocumentClient);
const pk = purchaseKey('apple', '42');
const update = updateFor({
  kind: 'renewed',
  occurredAt: 1_700_000_000_000,
  fields: { expiresAt: 1_800_000_000_000 },
});
const metadata = { $metadata: {} };

function cancelled(...codes: string[]) {
  return Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
    $metadata: { httpStatusCode: 400 },
  });
}

beforeAll(async () => {
  await useLocalAws();
});
afterEach(() => {
  ddb.reset();
});

describe('DynamoDB failures', () => {
  it('turns throttling into ServiceUnavailableError (503) and keeps the cause', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', ...metadata });
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(throttled);
    const error = await recordSnapshot({ pk, update }).catch((e) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.statusCode).toBe(503);
    expect(error.cause).toBe(throttled);
  });

  it('treats a DynamoDB 5xx and a network failure as unavailable', async () => {
    ddb
      .onAnyCommand()
      .rejects(
        Object.assign(new Error('boom'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }),
      );
    await expect(getPurchase(pk)).rejects.toBeInstanceOf(ServiceUnavailableError);
    ddb.reset();
    ddb.onAnyCommand().rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(markProcessed('evt_1', 'test')).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('rethrows anything else unchanged', async () => {
    const invalid = Object.assign(new Error('bad expression'), {
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
    ddb.onAnyCommand().rejects(invalid);
    await expect(getPurchase(pk)).rejects.toBe(invalid);
    expect(storeError(invalid)).toBe(invalid);
  });

  it('rethrows a throttled transaction as unavailable so the queue delivers again', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ThrottlingError'));
    await expect(applyEvent({ eventId: 'evt_t', outcome: 'x', pk, update })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it('retries transaction conflicts and gives up with 503 when they persist', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'TransactionConflict')).resolves({});
    expect(await applyEvent({ eventId: 'evt_c', outcome: 'x', pk, update })).toEqual({ result: 'applied' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    ddb.reset();
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict'));
    await expect(applyEvent({ eventId: 'evt_c2', outcome: 'x', pk, update })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it('surfaces an unexplained cancellation instead of retrying it', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled('ValidationError'));
    await expect(getOrMintUuid('u', () => 'x')).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
  });

  it('reads the stored item again when a failed condition does not carry it, then fills over that version', async () => {
    const stored = { pk, platform: 'apple', subjectKey: '42', appliedAt: 2e12, appliedOrder: 64e12, rev: 7 };
    // Read first: an older version the update is newer than; by the write, a newer one is stored.
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { ...stored, appliedAt: 1, appliedOrder: 32, rev: 6 } })
      .resolves({ Item: stored });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    const result = await recordSnapshot({ pk, update });
    expect(result).toMatchObject({
      stale: true,
      purchase: { expiresAt: 1_800_000_000_000, appliedOrder: 64e12 },
    });
    const writes = ddb.commandCalls(TransactWriteCommand);
    expect(writes).toHaveLength(2);
    const fill = writes[1]?.args[0].input.TransactItems?.[0]?.Update;
    expect(fill?.ConditionExpression).toMatch(/^\(attribute_exists\(#a\d+\) AND #a\d+ = :v\d+\)$/);
    expect(Object.values(fill?.ExpressionAttributeValues ?? {})).toContain(7);
    // The fill's history record says what the fill changed, numbered after the version it merged with.
    const history = writes[1]?.args[0].input.TransactItems?.[1]?.Put?.Item;
    expect(history).toMatchObject({
      pk,
      sk: '000000000008',
      before: { expiresAt: null },
      after: { expiresAt: 1_800_000_000_000 },
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
