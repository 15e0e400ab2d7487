import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { purchaseKey, userReference } from '../../shared/domain/purchase';
import { documentClient } from '../../shared/store/dynamo-client';
import { recordSnapshot } from '../../shared/store/purchases';
import { type ContractApi, startContractApi } from '../support/contract-api';
import { captureFunctionLogs, type FunctionLogs } from '../support/function-logs';
import {
  sdkEntitlementsResponseSchema,
  sdkRestoreResponseSchema,
  sdkUuidResponseSchema,
  sdkVerifyOkSchema,
  sdkVerifyRejectedSchema,
} from '../support/sdk-schemas';

// Who may hold a purchase (README "Ownership and transfers"), through the local HTTP API with
// the Attesto sandbox: knowing a transaction id or a purchase token is never proof of ownership;
// the store's binding (appAccountToken / obfuscatedExternalAccountId) is.

let api: ContractApi;
let logs: FunctionLogs;

beforeAll(async () => {
  logs = captureFunctionLogs('WARN');
  api = await startContractApi();
});
afterAll(async () => {
  logs?.stop();
  await api?.stop();
});
afterEach(() => {
  api.setEnv({ OWNERSHIP_POLICY: undefined });
});

let users = 0;
const newUser = (name: string) => `${name}-${++users}-${Date.now()}`;

async function uuidOf(user: string): Promise<string> {
  return sdkUuidResponseSchema.parse((await api.call('POST', '/api/iap/uuid', { user })).json).uuid;
}

async function entitlementKeys(user: string): Promise<string[]> {
  const res = await api.call('GET', '/api/iap/entitlements', { user });
  return sdkEntitlementsResponseSchema
    .parse(res.json)
    .entitlements.map((e) => e.key)
    .sort();
}

async function storedItem(pk: string) {
  const { Item } = await documentClient().send(
    new GetCommand({ TableName: api.resources.env.PURCHASES_TABLE, Key: { pk }, ConsistentRead: true }),
  );
  return Item;
}

const appleBody = (productId: string, transactionId: string, type = 'subscription') => ({
  productId,
  transactionId,
  type,
});
const googleBody = (productId: string, purchaseToken: string, type = 'subscription') => ({
  productId,
  purchaseToken,
  packageName: 'com.example.app',
  type,
});

function restoredKeys(response: { status: number; json: unknown }): string[] {
  expect(response.status).toBe(200);
  const body = sdkRestoreResponseSchema.parse(response.json);
  if (!body.valid) throw new Error(`restore refused: ${body.error}`);
  return body.entitlements.map((e) => e.key).sort();
}

function ok(response: { status: number; json: unknown }) {
  expect(response.status).toBe(200);
  return sdkVerifyOkSchema.parse(response.json);
}

function rejected(response: { status: number; json: unknown }, error: string) {
  expect(response.status).toBe(200);
  const body = sdkVerifyRejectedSchema.parse(response.json);
  expect(body.error).toBe(error);
  return body;
}

describe('a purchase the store binds to a user', () => {
  it('Apple: another user verifying its transaction id gets ALREADY_OWNED and changes nothing', async () => {
    const [alice, bob] = [newUser('bound-alice'), newUser('bound-bob')];
    const aliceUuid = await uuidOf(alice);
    await uuidOf(bob);
    const { purchase } = await api.sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: aliceUuid,
    });
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: alice,
        body: appleBody('premium_monthly', purchase.token),
      }),
    );
    const pk = purchaseKey('apple', purchase.subjectKey);
    const before = await storedItem(pk);

    const answer = rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: bob,
        body: appleBody('premium_monthly', purchase.token),
      }),
      'ALREADY_OWNED',
    );
    expect(JSON.stringify(answer)).not.toContain(alice);
    expect(await storedItem(pk)).toEqual(before);
    expect(await entitlementKeys(alice)).toEqual(['premium']);
    expect(await entitlementKeys(bob)).toEqual([]);
  });

  it('Google: another user verifying its purchase token gets ALREADY_OWNED and changes nothing', async () => {
    const [alice, bob] = [newUser('gbound-alice'), newUser('gbound-bob')];
    const aliceUuid = await uuidOf(alice);
    const { purchase } = await api.sandbox.buy({
      platform: 'google',
      productId: 'premium_yearly',
      appUserId: aliceUuid,
    });
    ok(
      await api.call('POST', '/api/iap/verify/google', {
        user: alice,
        body: googleBody('premium_yearly', purchase.token),
      }),
    );
    const pk = purchaseKey('google', purchase.subjectKey);
    const before = await storedItem(pk);
    rejected(
      await api.call('POST', '/api/iap/verify/google', {
        user: bob,
        body: googleBody('premium_yearly', purchase.token),
      }),
      'ALREADY_OWNED',
    );
    expect(await storedItem(pk)).toEqual(before);
    expect(await entitlementKeys(alice)).toEqual(['premium']);
    expect(await entitlementKeys(bob)).toEqual([]);
  });

  it('is refused to another user even when the stage opts in to move, and before anyone verified it', async () => {
    api.setEnv({ OWNERSHIP_POLICY: 'move' });
    const [alice, bob] = [newUser('early-alice'), newUser('early-bob')];
    const aliceUuid = await uuidOf(alice);
    const { purchase } = await api.sandbox.buy({
      platform: 'apple',
      productId: 'premium_yearly',
      appUserId: aliceUuid,
    });
    // Bob is first: nobody holds the purchase yet, but the store names Alice.
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: bob,
        body: appleBody('premium_yearly', purchase.token),
      }),
      'ALREADY_OWNED',
    );
    expect(await storedItem(purchaseKey('apple', purchase.subjectKey))).toBeUndefined();
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: alice,
        body: appleBody('premium_yearly', purchase.token),
      }),
    );
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: bob,
        body: appleBody('premium_yearly', purchase.token),
      }),
      'ALREADY_OWNED',
    );
    expect(await entitlementKeys(alice)).toEqual(['premium']);
    expect(await entitlementKeys(bob)).toEqual([]);
  });

  it('goes to the user the store names, from whoever held it, and the move is logged', async () => {
    const [alice, mallory] = [newUser('named-alice'), newUser('named-mallory')];
    const aliceUuid = await uuidOf(alice);
    const { purchase } = await api.sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: aliceUuid,
    });
    // Held by another user from before the store's binding was enforced.
    const pk = purchaseKey('apple', purchase.subjectKey);
    await recordSnapshot({
      pk,
      update: { t: 1, order: 32, set: { productId: 'premium_monthly' } },
      owner: { userId: mallory, mode: 'set' },
    });
    logs.clear();
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: alice,
        body: appleBody('premium_monthly', purchase.token),
      }),
    );
    expect(await entitlementKeys(alice)).toEqual(['premium']);
    expect(await entitlementKeys(mallory)).toEqual([]);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Purchase moved to another user',
        from: userReference(mallory),
        to: userReference(alice),
      }),
    );
  });

  it('restore applies the same rule entry by entry', async () => {
    const [alice, bob] = [newUser('restore-alice'), newUser('restore-bob')];
    const [aliceUuid, bobUuid] = [await uuidOf(alice), await uuidOf(bob)];
    const alices = (
      await api.sandbox.buy({ platform: 'apple', productId: 'premium_monthly', appUserId: aliceUuid })
    ).purchase;
    const bobs = (await api.sandbox.buy({ platform: 'apple', productId: 'remove_ads', appUserId: bobUuid }))
      .purchase;
    const alicesGoogle = (
      await api.sandbox.buy({ platform: 'google', productId: 'premium_yearly', appUserId: aliceUuid })
    ).purchase;
    const res = await api.call('POST', '/api/iap/restore', {
      user: bob,
      body: {
        transactions: [
          { platform: 'apple', productId: 'premium_monthly', transactionId: alices.token },
          { platform: 'apple', productId: 'remove_ads', transactionId: bobs.token },
          {
            platform: 'google',
            productId: 'premium_yearly',
            purchaseToken: alicesGoogle.token,
            packageName: 'com.example.app',
          },
        ],
      },
    });
    expect(restoredKeys(res)).toEqual(['no_ads']);
    expect(await storedItem(purchaseKey('apple', alices.subjectKey))).toBeUndefined();
    expect(await storedItem(purchaseKey('google', alicesGoogle.subjectKey))).toBeUndefined();
    expect(await entitlementKeys(bob)).toEqual(['no_ads']);
  });
});

describe('a purchase the store binds to nobody', () => {
  it('stays with the user who verified it first by default, untouched by the second', async () => {
    const [a, b] = [newUser('keep-a'), newUser('keep-b')];
    const { purchase } = await api.sandbox.buy({ platform: 'apple', productId: 'premium_yearly' });
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: a,
        body: appleBody('premium_yearly', purchase.token),
      }),
    );
    const pk = purchaseKey('apple', purchase.subjectKey);
    // A renewal the second user's verify would carry: it must not be written either.
    await api.sandbox.act(purchase.id, 'renew', { deliver: false });
    const before = await storedItem(pk);
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: b,
        body: appleBody('premium_yearly', purchase.token),
      }),
      'ALREADY_OWNED',
    );
    expect(await storedItem(pk)).toEqual(before);
    expect(await entitlementKeys(a)).toEqual(['premium']);
    expect(await entitlementKeys(b)).toEqual([]);
  });

  it('moves to the second user with OWNERSHIP_POLICY=move, logged with both users', async () => {
    api.setEnv({ OWNERSHIP_POLICY: 'move' });
    const [a, b] = [newUser('move-a'), newUser('move-b')];
    const { purchase } = await api.sandbox.buy({ platform: 'google', productId: 'premium_monthly' });
    ok(
      await api.call('POST', '/api/iap/verify/google', {
        user: a,
        body: googleBody('premium_monthly', purchase.token),
      }),
    );
    logs.clear();
    ok(
      await api.call('POST', '/api/iap/verify/google', {
        user: b,
        body: googleBody('premium_monthly', purchase.token),
      }),
    );
    expect(await entitlementKeys(a)).toEqual([]);
    expect(await entitlementKeys(b)).toEqual(['premium']);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Purchase moved to another user',
        from: userReference(a),
        to: userReference(b),
        because: 'OWNERSHIP_POLICY=move',
      }),
    );
    // Neither reference is the user id itself.
    expect(JSON.stringify(logs.lines())).not.toContain(a);
  });
});

describe('family sharing', () => {
  it("each member's copy is theirs, even when it carries the purchaser's binding", async () => {
    const [organiser, child, partner] = [newUser('fam-org'), newUser('fam-child'), newUser('fam-partner')];
    const organiserUuid = await uuidOf(organiser);
    await uuidOf(child);
    const { purchase } = await api.sandbox.buy({
      platform: 'apple',
      productId: 'premium_yearly',
      appUserId: organiserUuid,
    });
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: organiser,
        body: appleBody('premium_yearly', purchase.token),
      }),
    );
    const childCopy = (await api.sandbox.act(purchase.id, 'family-share', { appUserId: organiserUuid }))
      .created;
    const partnerCopy = (await api.sandbox.act(purchase.id, 'family-share', { appUserId: null })).created;
    if (!childCopy || !partnerCopy) throw new Error('family-share created no copy');
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: child,
        body: appleBody('premium_yearly', childCopy.token),
      }),
    );
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: partner,
        body: appleBody('premium_yearly', partnerCopy.token),
      }),
    );
    expect(await entitlementKeys(organiser)).toEqual(['premium']);
    expect(await entitlementKeys(child)).toEqual(['premium']);
    expect(await entitlementKeys(partner)).toEqual(['premium']);
    // A member's copy is still theirs alone: another user cannot take it by its id.
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: organiser,
        body: appleBody('premium_yearly', childCopy.token),
      }),
      'ALREADY_OWNED',
    );
    expect(await entitlementKeys(child)).toEqual(['premium']);
  });
});

describe('what a request may claim', () => {
  it("the catalog's product type wins over the request's: a non-consumable sent as consumable still unlocks", async () => {
    const user = newUser('type');
    const { purchase } = await api.sandbox.buy({ platform: 'google', productId: 'remove_ads' });
    const body = ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: googleBody('remove_ads', purchase.token, 'consumable'),
      }),
    );
    expect(body.entitlements.map((e) => e.key)).toEqual(['no_ads']);
    expect(await storedItem(purchaseKey('google', purchase.subjectKey))).toMatchObject({
      productType: 'product',
    });
    // Restore entries carry a type only in the docs' shape; the catalog still wins.
    const restored = await api.call('POST', '/api/iap/restore', {
      user,
      body: {
        transactions: [
          { platform: 'google', productId: 'remove_ads', token: purchase.token, productType: 'consumable' },
        ],
      },
    });
    expect(restoredKeys(restored)).toEqual(['no_ads']);
    expect(await entitlementKeys(user)).toEqual(['no_ads']);
  });

  it('PRODUCT_MISMATCH never names the product an id belongs to', async () => {
    const [alice, bob] = [newUser('mm-alice'), newUser('mm-bob')];
    const apple = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_yearly' })).purchase;
    const google = (await api.sandbox.buy({ platform: 'google', productId: 'premium_yearly' })).purchase;
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: alice,
        body: appleBody('premium_yearly', apple.token),
      }),
    );
    const answers = [
      rejected(
        await api.call('POST', '/api/iap/verify/apple', {
          user: bob,
          body: appleBody('premium_monthly', apple.token),
        }),
        'PRODUCT_MISMATCH',
      ),
      rejected(
        await api.call('POST', '/api/iap/verify/google', {
          user: bob,
          body: googleBody('premium_monthly', google.token),
        }),
        'PRODUCT_MISMATCH',
      ),
    ];
    for (const answer of answers) expect(JSON.stringify(answer)).not.toContain('premium_yearly');
  });
});
