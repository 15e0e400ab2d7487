import { describe, expect, it } from 'vitest';
import { attestoGoogleType } from '../../shared/attesto/translate/google-verify-type';
import {
  CatalogError,
  catalog,
  entitlementKeysOf,
  parseCatalog,
  productById,
  productManifest,
} from '../../shared/domain/catalog';

const valid = (products: unknown[]) => ({ products });

describe('the shipped catalog', () => {
  it('holds the example products with their entitlements', () => {
    expect(catalog.products.map((p) => [p.id, p.type, p.entitlements])).toEqual([
      ['premium_monthly', 'subscription', ['premium']],
      ['premium_yearly', 'subscription', ['premium']],
      ['remove_ads', 'product', ['no_ads']],
      ['coins_100', 'consumable', []],
    ]);
    expect(productById('coins_100')?.credits).toEqual({ coins: 100 });
  });

  it('maps products to entitlement keys, none for consumables and unknown products', () => {
    expect(entitlementKeysOf('premium_yearly')).toEqual(['premium']);
    expect(entitlementKeysOf('remove_ads')).toEqual(['no_ads']);
    expect(entitlementKeysOf('coins_100')).toEqual([]);
    expect(entitlementKeysOf('nope')).toEqual([]);
    expect(productById('nope')).toBeUndefined();
  });

  it('gives the SDK manifest: one entry per id, androidPlanId only when set', () => {
    const manifest = productManifest();
    expect(manifest.products).toEqual([
      { id: 'premium_monthly', type: 'subscription', androidPlanId: 'monthly-plan' },
      { id: 'premium_yearly', type: 'subscription', androidPlanId: 'yearly-plan' },
      { id: 'remove_ads', type: 'product' },
      { id: 'coins_100', type: 'consumable' },
    ]);
    expect(new Set(manifest.products.map((p) => p.id)).size).toBe(manifest.products.length);
  });

  it('maps product types to the two Attesto Google verify types', () => {
    expect(attestoGoogleType('subscription')).toBe('subscription');
    expect(attestoGoogleType('product')).toBe('product');
    expect(attestoGoogleType('consumable')).toBe('product');
  });
});

describe('catalog validation', () => {
  it('supports many-to-many products and entitlements', () => {
    const c = parseCatalog(
      valid([
        { id: 'bundle', type: 'product', entitlements: ['no_ads', 'premium'] },
        { id: 'sub', type: 'subscription', entitlements: ['premium'] },
      ]),
    );
    expect(entitlementKeysOf('bundle', c)).toEqual(['no_ads', 'premium']);
    expect(productManifest(c).products).toHaveLength(2);
  });

  it.each([
    ['an empty catalog', valid([]), /at least one product/],
    [
      'duplicate ids',
      valid([
        { id: 'a', type: 'product' },
        { id: 'a', type: 'subscription' },
      ]),
      /products\.1\.id: duplicate product id "a"/,
    ],
    ['an unknown type', valid([{ id: 'a', type: 'lifetime' }]), /products\.0\.type/],
    ['an empty id', valid([{ id: ' ', type: 'product' }]), /products\.0\.id/],
    [
      'an empty entitlement key',
      valid([{ id: 'a', type: 'product', entitlements: [''] }]),
      /products\.0\.entitlements\.0/,
    ],
    [
      'an empty androidPlanId',
      valid([{ id: 'a', type: 'subscription', androidPlanId: '' }]),
      /products\.0\.androidPlanId/,
    ],
    [
      'a consumable granting an entitlement',
      valid([{ id: 'c', type: 'consumable', entitlements: ['premium'] }]),
      /"c" is a consumable/,
    ],
    [
      'credits on a non-consumable',
      valid([{ id: 'p', type: 'product', credits: { coins: 5 } }]),
      /only consumables credit/,
    ],
    [
      'a repeated entitlement',
      valid([{ id: 'p', type: 'product', entitlements: ['x', 'x'] }]),
      /entitlement twice/,
    ],
    ['an unknown field', valid([{ id: 'p', type: 'product', entitlement: 'x' }]), /products\.0/],
  ])('rejects %s with a message naming the problem', (_name, input, message) => {
    expect(() => parseCatalog(input)).toThrow(CatalogError);
    expect(() => parseCatalog(input)).toThrow(message);
  });
});
