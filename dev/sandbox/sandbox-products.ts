// What the sandbox needs to know about a product to invent its purchases: its type, and for a
// subscription the billing period. The SDK's three types are used: `product` is a non-consumable.

export type SandboxProductType = 'subscription' | 'product' | 'consumable';
export const SANDBOX_PRODUCT_TYPES: readonly SandboxProductType[] = ['subscription', 'product', 'consumable'];

/** ISO-8601 billing periods Apple and Google offer. */
export type BillingPeriod = 'P1W' | 'P1M' | 'P2M' | 'P3M' | 'P6M' | 'P1Y';

export interface SandboxProduct {
  productId: string;
  type: SandboxProductType;
  /** Subscriptions only; when absent it is guessed from the product id (…yearly → P1Y, else P1M). */
  period?: BillingPeriod;
  /** Google base plan id; defaults to the product id with `_` → `-`. */
  basePlanId?: string;
  /** Price in milli-units of `currency` (Apple's unit): 9.99 → 9990. */
  priceMilli?: number;
  currency?: string;
}

/**
 * `sandbox`: periods shrink the way Apple's sandbox does (a month lasts 5 minutes), so a laptop sees
 * renewals and expiries within a coffee break. `real`: calendar lengths.
 */
export type TimeScale = 'sandbox' | 'real';

const MINUTE = 60_000;
const DAY = 86_400_000;

const SANDBOX_PERIOD_MS: Record<BillingPeriod, number> = {
  P1W: 3 * MINUTE,
  P1M: 5 * MINUTE,
  P2M: 10 * MINUTE,
  P3M: 15 * MINUTE,
  P6M: 30 * MINUTE,
  P1Y: 60 * MINUTE,
};

const REAL_PERIOD_MS: Record<BillingPeriod, number> = {
  P1W: 7 * DAY,
  P1M: 30 * DAY,
  P2M: 61 * DAY,
  P3M: 91 * DAY,
  P6M: 182 * DAY,
  P1Y: 365 * DAY,
};

export function periodOf(product: SandboxProduct): BillingPeriod {
  if (product.period) return product.period;
  const id = product.productId.toLowerCase();
  if (/year|annual|12m/.test(id)) return 'P1Y';
  if (/week/.test(id)) return 'P1W';
  if (/quarter|3m/.test(id)) return 'P3M';
  if (/6m|half/.test(id)) return 'P6M';
  return 'P1M';
}

export function periodMs(period: BillingPeriod, scale: TimeScale): number {
  return scale === 'sandbox' ? SANDBOX_PERIOD_MS[period] : REAL_PERIOD_MS[period];
}

/** Billing grace: Apple lets a developer pick 3, 16 or 28 days; the sandbox shrinks it like a period. */
export function graceMs(scale: TimeScale): number {
  return scale === 'sandbox' ? 3 * MINUTE : 16 * DAY;
}

/** Google pauses for at least a week; the sandbox pauses for one (shrunk) period. */
export function pauseMs(scale: TimeScale): number {
  return scale === 'sandbox' ? 5 * MINUTE : 7 * DAY;
}

export function defaultPriceMilli(type: SandboxProductType): number {
  return type === 'subscription' ? 9990 : 1990;
}

export function basePlanIdOf(product: SandboxProduct): string {
  return product.basePlanId ?? product.productId.replaceAll('_', '-');
}

/** Finds a product; `undefined` means the sandbox does not know it (the caller decides whether that is an error). */
export type ProductLookup = (productId: string) => SandboxProduct | undefined;

export function productLookupFrom(products: readonly SandboxProduct[]): ProductLookup {
  const byId = new Map(products.map((p) => [p.productId, p]));
  return (productId) => byId.get(productId);
}
