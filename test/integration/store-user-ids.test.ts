import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalResources } from '../../dev/local/provision';
import { getOrMintUuid, userIdOfUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';

let res: LocalResources;
async function itemsMentioning(userId: string) {
  const ddb = new DynamoDBClient({});
  const scan = await ddb.send(new ScanCommand({ TableName: res.tableNames.USER_IDS_TABLE }));
  ddb.destroy();
  return (scan.Items ?? [])
    .map((i) => unmarshall(i))
    .filter((i) => i.pk === `user#${userId}` || i.userId === userId);
}

beforeAll(async () => {
  res = await useLocalAws();
});

describe('getOrMintUuid', () => {
  it('mints once, then returns the same UUID without minting; both directions resolve', async () => {
    const userId = `u-${randomUUID()}`;
    const mint = vi.fn(() => randomUUID());
    const uuid = await getOrMintUuid(userId, mint);
    expect(await getOrMintUuid(userId, mint)).toBe(uuid);
    expect(mint).toHaveBeenCalledTimes(1);
    expect(await userIdOfUuid(uuid)).toBe(userId);
    expect(await userIdOfUuid(randomUUID())).toBeUndefined();
  });

  it('gives 10 concurrent first calls for one user the same UUID, stored as exactly two items', async () => {
    const userId = `u-${randomUUID()}`;
    const uuids = await Promise.all(
      Array.from({ length: 10 }, () => getOrMintUuid(userId, () => randomUUID())),
    );
    expect(new Set(uuids).size).toBe(1);
    const items = await itemsMentioning(userId);
    expect(items.map((i) => i.pk).sort()).toEqual([`user#${userId}`, `uuid#${uuids[0]}`].sort());
  });

  it('re-mints when the minted UUID already belongs to another user', async () => {
    const taken = await getOrMintUuid(`u-${randomUUID()}`, () => randomUUID());
    const fresh = randomUUID();
    const mint = vi.fn<() => string>().mockReturnValueOnce(taken).mockReturnValueOnce(fresh);
    const userId = `u-${randomUUID()}`;
    expect(await getOrMintUuid(userId, mint)).toBe(fresh);
    expect(mint).toHaveBeenCalledTimes(2);
    expect(await userIdOfUuid(taken)).not.toBe(userId);
    expect(await itemsMentioning(userId)).toHaveLength(2);
  });
});
