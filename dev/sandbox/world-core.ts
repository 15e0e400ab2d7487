import type { UnifiedEventName } from './event-names';
import { ulid } from './identifiers';
import { SandboxError } from './sandbox-error';
import {
  defaultPriceMilli,
  type ProductLookup,
  periodMs,
  periodOf,
  type SandboxProduct,
  type SandboxProductType,
  type TimeScale,
} from './sandbox-products';
import { SeededRandom } from './seeded-random';
import type { PurchaseRecord, SandboxWebhook, WorldState } from './world-types';

// What both stores' actions share: the world's state, its seeded randomness, its strictly
// increasing upstream clock, and how a step's webhooks are recorded.

export type Platform = 'apple' | 'google';

export const LIFECYCLE_ACTIONS = [
  'renew',
  'cancel',
  'uncancel',
  'fail-billing',
  'recover',
  'hold',
  'pause',
  'expire',
  'refund',
  'revoke',
  'upgrade',
  'family-share',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export interface WorldConfig {
  bundleId: string;
  packageName: string;
  timeScale: TimeScale;
  /** Known products; an unknown id is refused unless the caller names its type. */
  lookupProduct: ProductLookup;
}

export interface BuyInput {
  platform: Platform;
  productId: string;
  appUserId?: string | null;
  /** Needed only for a product the lookup does not know. */
  type?: SandboxProductType;
  /** Overrides the subscription period (ms), e.g. 60_000 for a one-minute month. */
  periodMs?: number;
  /** Buy under another app (to exercise BUNDLE_ID_MISMATCH / PACKAGE_NAME_MISMATCH). */
  bundleId?: string;
  packageName?: string;
}

export interface ActionOptions {
  /** fail-billing: with a grace period (Apple GRACE_PERIOD / Google IN_GRACE_PERIOD). */
  grace?: boolean;
  /** upgrade: the product switched to. */
  newProductId?: string;
  /** family-share: the family member's appUserId (their app's appAccountToken). */
  appUserId?: string | null;
  /**
   * refund: Apple, a specific transaction instead of the latest; Google, one order of a
   * subscription, refunded without revoking it (the subscription carries on).
   */
  transactionId?: string;
}

export interface StepResult {
  purchase: PurchaseRecord;
  /** A purchase the step created (the upgraded Google token, the family member's copy). */
  created: PurchaseRecord | null;
  webhooks: SandboxWebhook[];
}

export class WorldCore {
  readonly state: WorldState;
  readonly config: WorldConfig;
  readonly random: SeededRandom;

  constructor(state: WorldState, config: WorldConfig) {
    this.state = state;
    this.config = config;
    this.random = new SeededRandom(state.randomState);
  }

  /** The fields every new purchase starts with, and its billing period (null: not a subscription). */
  newPurchaseBase<P extends Platform>(
    platform: P,
    product: SandboxProduct,
    appUserId: string | null,
    t: number,
    input: BuyInput,
  ) {
    const period =
      product.type === 'subscription'
        ? (input.periodMs ?? periodMs(periodOf(product), this.config.timeScale))
        : null;
    const base = {
      id: this.nextId(),
      platform,
      productId: product.productId,
      productType: product.type,
      appUserId,
      priceMilli: product.priceMilli ?? defaultPriceMilli(product.type),
      currency: product.currency ?? 'USD',
      createdAt: t,
    };
    return { base, period };
  }

  envelope(
    name: UnifiedEventName,
    parts: Pick<SandboxWebhook, 'externalId' | 'source' | 'subject' | 'appUserId' | 'data' | 'raw'> & {
      t: number;
    },
  ): SandboxWebhook {
    return {
      event: name.event,
      reason: name.reason,
      platformEvent: name.platformEvent,
      eventId: `evt_${ulid(this.random, parts.t)}`,
      externalId: parts.externalId,
      timestamp: new Date(parts.t).toISOString(),
      tenantId: this.state.tenantId,
      source: parts.source,
      subject: parts.subject,
      appUserId: parts.appUserId,
      data: parts.data,
      raw: parts.raw,
    };
  }

  finish(purchase: PurchaseRecord, created: PurchaseRecord | null, webhooks: SandboxWebhook[]): StepResult {
    this.state.webhooks.push(...webhooks);
    this.state.randomState = this.random.position;
    return { purchase, created, webhooks };
  }

  /** A strictly increasing upstream time: a backend orders events by signedDate / eventTimeMillis. */
  tick(now: number): number {
    const t = Math.max(Math.floor(now), this.state.lastUpstreamAt + 1);
    this.state.lastUpstreamAt = t;
    return t;
  }

  nextId(): string {
    const id = `sbx_${this.state.nextPurchaseNumber}`;
    this.state.nextPurchaseNumber += 1;
    return id;
  }

  resolveProduct(productId: string, type: SandboxProductType | undefined): SandboxProduct {
    if (!productId || productId.length > 200)
      throw new SandboxError('INVALID_INPUT', 'productId must be 1..200 characters');
    const known = this.config.lookupProduct(productId);
    if (known) {
      if (type && type !== known.type) {
        throw new SandboxError('INVALID_INPUT', `${productId} is a ${known.type}, not a ${type}`);
      }
      return known;
    }
    if (!type) {
      throw new SandboxError(
        'UNKNOWN_PRODUCT',
        `Unknown product "${productId}"; pass its type to use it anyway`,
      );
    }
    return { productId, type };
  }

  resolveUpgradeTarget(currentProductId: string, newProductId: string | undefined): SandboxProduct {
    if (!newProductId) throw new SandboxError('INVALID_INPUT', 'upgrade needs the new product id');
    if (newProductId === currentProductId)
      throw new SandboxError('INVALID_INPUT', `Already on ${newProductId}`);
    const next = this.resolveProduct(
      newProductId,
      this.config.lookupProduct(newProductId) ? undefined : 'subscription',
    );
    if (next.type !== 'subscription')
      throw new SandboxError('INVALID_INPUT', `${newProductId} is not a subscription`);
    return next;
  }
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function lastOf<T>(items: T[]): T {
  const last = items.at(-1);
  if (last === undefined) throw new Error('a purchase always has at least one transaction');
  return last;
}

export function checkAppUserId(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (!UUID_V4.test(value))
    throw new SandboxError('INVALID_INPUT', `appUserId must be a UUID v4, got "${value}"`);
  return value.toLowerCase();
}
