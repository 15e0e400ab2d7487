import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAppleJwsSigner } from '../../dev/sandbox/apple-jws-signer';
import { productLookupFrom, type SandboxProduct } from '../../dev/sandbox/sandbox-products';
import { emptyWorldState, LIFECYCLE_ACTIONS, SandboxWorld } from '../../dev/sandbox/world';
import type { ApplePurchaseRecord, WorldState } from '../../dev/sandbox/world-types';

// Apple numbers transactions in one increasing sequence and the backend's restore relies on it
// (the highest transactionId of a product is the current one): every id the sandbox hands out
// must be greater than every id before it, in any world, across restarts, for old data files too.

const PRODUCTS: SandboxProduct[] = [
  { productId: 'premium_monthly', type: 'subscription' },
  { productId: 'premium_yearly', type: 'subscription' },
  { productId: 'remove_ads', type: 'product' },
  { productId: 'coins_100', type: 'consumable' },
];
const T0 = Date.UTC(2026, 0, 1);
const signer = createAppleJwsSigner();
const config = {
  bundleId: 'com.example.app',
  packageName: 'com.example.app',
  timeScale: 'sandbox' as const,
  lookupProduct: productLookupFrom(PRODUCTS),
};

/** Every Apple id of the world in the order it was handed out. */
function idsInOrder(state: WorldState): bigint[] {
  const ids: bigint[] = [];
  for (const p of state.purchases.filter((x): x is ApplePurchaseRecord => x.platform === 'apple')) {
    for (const t of p.transactions) {
      ids.push(BigInt(t.transactionId));
      if (t.webOrderLineItemId) ids.push(BigInt(t.webOrderLineItemId));
    }
  }
  return ids;
}

/** Refusals a random walk runs into: an action the purchase's state or platform does not allow, or an upgrade to the plan it is already on. */
const EXPECTED_REFUSALS = ['INVALID_STATE', 'UNSUPPORTED', 'INVALID_INPUT'];

/**
 * One random store event. A purchase always succeeds; a lifecycle action may be refused for the
 * purchase's state, and a refusal must leave the world unchanged. Anything else fails the test.
 */
function randomStep(
  world: SandboxWorld,
  [kind, target, choice]: [number, number, number],
  now: number,
): 'bought' | 'acted' | 'refused' {
  const purchases = world.state.purchases;
  if (kind < 3 || purchases.length === 0) {
    const product = PRODUCTS[choice % PRODUCTS.length] as SandboxProduct;
    world.buy({ platform: 'apple', productId: product.productId }, now);
    return 'bought';
  }
  const p = purchases[target % purchases.length];
  const action = LIFECYCLE_ACTIONS[choice % LIFECYCLE_ACTIONS.length] ?? 'renew';
  const before = JSON.stringify(world.state);
  try {
    world.act(p?.id ?? '', action, { newProductId: 'premium_yearly', grace: choice % 2 === 0 }, now);
    return 'acted';
  } catch (error) {
    expect(error).toMatchObject({ name: 'SandboxError' });
    expect(EXPECTED_REFUSALS).toContain((error as { code?: unknown }).code);
    expect(JSON.stringify(world.state)).toBe(before);
    return 'refused';
  }
}

describe('sandbox Apple transaction ids', () => {
  it('hands out strictly increasing ids, in any sequence of purchases and store events', () => {
    const outcomes = { bought: 0, acted: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.array(fc.tuple(fc.nat(9), fc.nat(50), fc.nat(50)), { minLength: 1, maxLength: 40 }),
        (seed, steps) => {
          const world = new SandboxWorld(emptyWorldState(seed, T0), config, signer);
          const handedOut: string[] = [];
          const before = new Set<bigint>();
          for (const [i, step] of steps.entries()) {
            before.clear();
            for (const id of idsInOrder(world.state)) before.add(id);
            const outcome = randomStep(world, step, T0 + i * 1000);
            outcomes[outcome] += 1;
            const fresh = idsInOrder(world.state).filter((id) => !before.has(id));
            for (const id of fresh) {
              for (const old of before) expect(id).toBeGreaterThan(old);
              handedOut.push(String(id));
            }
          }
          // The first step always buys, so every walk hands out at least one id.
          expect(handedOut.length).toBeGreaterThan(0);
          for (const id of handedOut) expect(id).toMatch(/^2000000\d{9}$/);
          // Within each purchase, later transactions have higher ids (restore keeps the highest).
          for (const p of world.state.purchases) {
            if (p.platform !== 'apple') continue;
            const ids = p.transactions.map((t) => BigInt(t.transactionId));
            expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
            expect(new Set(ids).size).toBe(ids.length);
          }
        },
      ),
      { numRuns: 200 },
    );
    // The walks exercised store events, not only purchases and refusals.
    // (about 500 / 190 / 520 in practice; the walks start with a purchase, so at least one each).
    expect(outcomes.bought).toBeGreaterThanOrEqual(200);
    expect(outcomes.acted).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const run = (seed: number) => {
      const world = new SandboxWorld(emptyWorldState(seed, T0), config, signer);
      const a = world.buy({ platform: 'apple', productId: 'premium_monthly' }, T0);
      world.act(a.purchase.id, 'renew', {}, T0 + 1);
      return idsInOrder(world.state).map(String);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('continues after the highest id of a world saved before ids were sequential', () => {
    const world = new SandboxWorld(emptyWorldState(9, T0), config, signer);
    const bought = world.buy({ platform: 'apple', productId: 'premium_monthly' }, T0);
    // An old data file: random ids (one of them high), and no lastAppleId.
    const saved = JSON.parse(JSON.stringify(world.state)) as WorldState;
    delete saved.lastAppleId;
    const old = saved.purchases[0] as ApplePurchaseRecord;
    old.originalTransactionId = '2000000987654321';
    old.transactions[0] = { ...(old.transactions[0] as ApplePurchaseRecord['transactions'][0]) };
    old.transactions[0].transactionId = '2000000987654321';
    old.transactions[0].webOrderLineItemId = '2000000000000007';

    const reloaded = new SandboxWorld(saved, config, signer);
    const renewed = reloaded.act(bought.purchase.id, 'renew', {}, T0 + 1000);
    const next = reloaded.buy({ platform: 'apple', productId: 'remove_ads' }, T0 + 2000);

    const renewal = renewed.purchase.platform === 'apple' ? renewed.purchase.transactions[1] : undefined;
    expect(BigInt(renewal?.transactionId ?? '0')).toBeGreaterThan(2000000987654321n);
    expect(BigInt(renewal?.webOrderLineItemId ?? '0')).toBeGreaterThan(BigInt(renewal?.transactionId ?? '0'));
    const nextId = next.purchase.platform === 'apple' ? next.purchase.originalTransactionId : '0';
    expect(BigInt(nextId)).toBeGreaterThan(BigInt(renewal?.webOrderLineItemId ?? '0'));
    expect(reloaded.state.lastAppleId).toBe(Number(nextId));
  });
});
