import { describe, expect, it } from 'vitest';
import { createAppleJwsSigner } from '../../dev/sandbox/apple-jws-signer';
import { SandboxError } from '../../dev/sandbox/sandbox-error';
import { productLookupFrom, type SandboxProduct } from '../../dev/sandbox/sandbox-products';
import { emptyWorldState, type LifecycleAction, SandboxWorld } from '../../dev/sandbox/world';

// The sandbox world on its own: no server, no clock — every call gets `now`.

const PRODUCTS: SandboxProduct[] = [
  { productId: 'premium_monthly', type: 'subscription', basePlanId: 'monthly-plan' },
  { productId: 'premium_yearly', type: 'subscription' },
  { productId: 'remove_ads', type: 'product' },
  { productId: 'coins_100', type: 'consumable' },
];
const T0 = Date.UTC(2026, 0, 1);
const signer = createAppleJwsSigner();

function newWorld(seed = 42) {
  return new SandboxWorld(
    emptyWorldState(seed, T0),
    {
      bundleId: 'com.example.app',
      packageName: 'com.example.app',
      timeScale: 'sandbox',
      lookupProduct: productLookupFrom(PRODUCTS),
    },
    signer,
  );
}

function script(world: SandboxWorld) {
  const a = world.buy(
    { platform: 'apple', productId: 'premium_monthly', appUserId: '11111111-2222-4333-8444-555555555555' },
    T0,
  );
  world.act(a.purchase.id, 'renew', {}, T0 + 1000);
  const g = world.buy({ platform: 'google', productId: 'premium_monthly' }, T0 + 2000);
  world.act(g.purchase.id, 'renew', {}, T0 + 3000);
  world.act(g.purchase.id, 'upgrade', { newProductId: 'premium_yearly' }, T0 + 4000);
  return world;
}

describe('sandbox world', () => {
  it('replays the same purchases and event ids for the same seed, and others for another seed', () => {
    const one = script(newWorld(42)).state;
    const two = script(newWorld(42)).state;
    const other = script(newWorld(43)).state;

    expect(two.purchases).toEqual(one.purchases);
    expect(two.tenantId).toBe(one.tenantId);
    expect(two.webhooks.map((w) => w.eventId)).toEqual(one.webhooks.map((w) => w.eventId));
    expect(other.webhooks.map((w) => w.eventId)).not.toEqual(one.webhooks.map((w) => w.eventId));
  });

  it("prints identifiers in the stores' and Attesto's formats", () => {
    const world = script(newWorld());
    const [apple, google, upgraded] = world.state.purchases;
    if (apple?.platform !== 'apple' || google?.platform !== 'google' || upgraded?.platform !== 'google')
      throw new Error('shape');

    for (const t of apple.transactions) expect(t.transactionId).toMatch(/^2000000\d{9}$/);
    expect(new Set(apple.transactions.map((t) => t.transactionId)).size).toBe(2);
    expect(google.purchaseToken).toMatch(/^[a-z]{24}\.AO-J1O[A-Za-z0-9_-]{130}$/);
    expect(google.orderId).toMatch(/^GPA\.\d{4}-\d{4}-\d{4}-\d{5}$/);
    expect(google.latestOrderId).toBe(`${google.orderId}..0`);
    expect(upgraded.linkedPurchaseToken).toBe(google.purchaseToken);
    expect(world.state.tenantId).toMatch(/^tenant_[0-9A-HJKMNP-TV-Z]{26}$/);
    for (const w of world.state.webhooks) {
      expect(w.eventId).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
      if (w.source === 'apple')
        expect(w.externalId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      else expect(w.externalId).toMatch(/^\d{16}$/);
    }
  });

  it('keeps upstream times strictly increasing even when the clock stands still or goes back', () => {
    const world = newWorld();
    const bought = world.buy({ platform: 'google', productId: 'premium_monthly' }, T0);
    world.act(bought.purchase.id, 'cancel', {}, T0);
    world.act(bought.purchase.id, 'uncancel', {}, T0 - 60_000);
    world.act(bought.purchase.id, 'renew', {}, T0 - 120_000);

    const times = world.state.webhooks.map((w) => Number(w.data.eventTimeMillis));
    expect(times).toEqual([T0, T0 + 1, T0 + 2, T0 + 3]);
  });

  it('uses Apple sandbox periods: a month lasts 5 minutes, a year an hour, unless periodMs says otherwise', () => {
    const world = newWorld();
    const monthly = world.buy({ platform: 'apple', productId: 'premium_monthly' }, T0).purchase;
    const yearly = world.buy({ platform: 'google', productId: 'premium_yearly' }, T0).purchase;
    const custom = world.buy(
      { platform: 'apple', productId: 'premium_monthly', periodMs: 60_000 },
      T0,
    ).purchase;

    const span = (p: typeof monthly) => {
      if (p.platform === 'google') return (p.expiryTime ?? 0) - p.startTime;
      const [first] = p.transactions;
      return (first?.expiresDate ?? 0) - (first?.purchaseDate ?? 0);
    };
    expect(span(monthly)).toBe(5 * 60_000);
    expect(span(yearly)).toBe(60 * 60_000);
    expect(span(custom)).toBe(60_000);
  });

  it.each<[string, 'apple' | 'google', string, LifecycleAction[], LifecycleAction, string]>([
    ['Apple has no account hold', 'apple', 'premium_monthly', [], 'hold', 'UNSUPPORTED'],
    ['Apple has no pause', 'apple', 'premium_monthly', [], 'pause', 'UNSUPPORTED'],
    ['Google has no family sharing', 'google', 'premium_monthly', [], 'family-share', 'UNSUPPORTED'],
    ['REVOKE is only for family-shared copies', 'apple', 'premium_monthly', [], 'revoke', 'UNSUPPORTED'],
    [
      'a canceled subscription does not renew',
      'apple',
      'premium_monthly',
      ['cancel'],
      'renew',
      'INVALID_STATE',
    ],
    [
      'a canceled Google subscription does not renew',
      'google',
      'premium_monthly',
      ['cancel'],
      'renew',
      'INVALID_STATE',
    ],
    ['cancel twice', 'apple', 'premium_monthly', ['cancel'], 'cancel', 'INVALID_STATE'],
    ['recover without a billing failure', 'google', 'premium_monthly', [], 'recover', 'INVALID_STATE'],
    ['refund twice', 'google', 'coins_100', ['refund'], 'refund', 'INVALID_STATE'],
    ['renew a one-time product', 'apple', 'remove_ads', [], 'renew', 'UNSUPPORTED'],
    ['pause a one-time product', 'google', 'remove_ads', [], 'pause', 'UNSUPPORTED'],
    ['act on an expired Google token', 'google', 'premium_monthly', ['expire'], 'cancel', 'INVALID_STATE'],
    ['upgrade without a target', 'google', 'premium_monthly', [], 'upgrade', 'INVALID_INPUT'],
  ])('refuses: %s', (_, platform, productId, before, action, code) => {
    const world = newWorld();
    const { purchase } = world.buy({ platform, productId }, T0);
    for (const step of before) world.act(purchase.id, step, {}, T0 + 1);
    const webhookCount = world.state.webhooks.length;

    let thrown: unknown;
    try {
      world.act(purchase.id, action, {}, T0 + 2);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SandboxError);
    expect((thrown as SandboxError).code).toBe(code);
    // A refused step leaves no webhook behind.
    expect(world.state.webhooks).toHaveLength(webhookCount);
  });

  it('refuses unknown products unless their type is given, and appUserIds that are not UUID v4', () => {
    const world = newWorld();
    expect(() => world.buy({ platform: 'apple', productId: 'mystery' }, T0)).toThrow(
      /Unknown product "mystery"/,
    );
    expect(
      world.buy({ platform: 'apple', productId: 'mystery', type: 'consumable' }, T0).purchase.productType,
    ).toBe('consumable');
    expect(() => world.buy({ platform: 'apple', productId: 'remove_ads', type: 'subscription' }, T0)).toThrow(
      /is a product/,
    );
    expect(() =>
      world.buy({ platform: 'google', productId: 'remove_ads', appUserId: 'user-42' }, T0),
    ).toThrow(/UUID v4/);
    expect(() => world.act('sbx_999', 'renew', {}, T0)).toThrow(/No sandbox purchase/);
  });

  it('tells of the replaced token after a Google upgrade: its expiry, under the root, after the purchase', () => {
    const world = newWorld();
    const g = world.buy({ platform: 'google', productId: 'premium_monthly' }, T0);
    const step = world.act(g.purchase.id, 'upgrade', { newProductId: 'premium_yearly' }, T0 + 1000);
    const root = g.purchase.platform === 'google' ? g.purchase.purchaseToken : '';
    const created = step.created?.platform === 'google' ? step.created : undefined;
    const told = step.webhooks.map((w) => ({
      event: w.event,
      key: w.subject?.key,
      token: (w.data.subscriptionNotification as { purchaseToken: string }).purchaseToken,
      at: Number(w.data.eventTimeMillis),
    }));
    expect(told.map(({ at: _at, ...rest }) => rest)).toEqual([
      { event: 'subscription.purchased', key: root, token: created?.purchaseToken },
      { event: 'subscription.expired', key: root, token: root },
    ]);
    expect((told[1]?.at ?? 0) > (told[0]?.at ?? 0)).toBe(true);
  });

  it('refunds one order of a Google subscription without ending it, and refuses an order it never had', () => {
    const world = newWorld();
    const g = world.buy({ platform: 'google', productId: 'premium_monthly' }, T0);
    world.act(g.purchase.id, 'renew', {}, T0 + 1000);
    const record = world.get(g.purchase.id);
    if (record.platform !== 'google') throw new Error('shape');
    const step = world.act(g.purchase.id, 'refund', { transactionId: record.orderId }, T0 + 2000);
    expect(step.webhooks.map((w) => w.data.voidedPurchaseNotification)).toEqual([
      { purchaseToken: record.purchaseToken, orderId: record.orderId, productType: 1, refundType: 1 },
    ]);
    expect(record).toMatchObject({ subscriptionState: 'SUBSCRIPTION_STATE_ACTIVE', voided: false });
    expect(() =>
      world.act(g.purchase.id, 'refund', { transactionId: `${record.orderId}..7` }, T0 + 3000),
    ).toThrow(SandboxError);
  });

  it('finds a purchase by any of its identifiers', () => {
    const world = script(newWorld());
    const [apple, google] = world.state.purchases;
    if (apple?.platform !== 'apple' || google?.platform !== 'google') throw new Error('shape');
    expect(world.find(apple.originalTransactionId)).toBe(apple);
    expect(world.find(apple.transactions[1]?.transactionId ?? '')).toBe(apple);
    expect(world.find(google.purchaseToken)).toBe(google);
    expect(world.find(google.orderId)).toBe(google);
    expect(world.find(`${google.orderId}..0`)).toBe(google);
    expect(world.find('nothing')).toBeUndefined();
  });

  it("renews family members with the organiser and revokes them on the organiser's refund", () => {
    const world = newWorld();
    const organiser = world.buy({ platform: 'apple', productId: 'premium_monthly' }, T0).purchase;
    const member = world.act(organiser.id, 'family-share', {}, T0 + 1).created;
    if (organiser.platform !== 'apple' || member?.platform !== 'apple') throw new Error('shape');
    const renewed = world.act(organiser.id, 'renew', {}, T0 + 2);
    const refunded = world.act(organiser.id, 'refund', {}, T0 + 3);

    expect(renewed.webhooks.map((w) => [w.event, w.subject?.key])).toEqual([
      ['subscription.renewed', organiser.originalTransactionId],
      ['subscription.renewed', member.originalTransactionId],
    ]);
    expect(refunded.webhooks.map((w) => [w.event, w.subject?.key])).toEqual([
      ['subscription.refunded', organiser.originalTransactionId],
      ['subscription.revoked', member.originalTransactionId],
    ]);
  });
});
