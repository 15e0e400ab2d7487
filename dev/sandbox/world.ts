import type { AppleJwsSigner } from './apple-jws-signer';
import { appleNotificationPayload, appleRenewalInfoPayload, appleTransactionPayload } from './apple-payloads';
import {
  appleEventName,
  GOOGLE_VOIDED_EVENT,
  googleProductEventName,
  googleSubscriptionEventName,
  GOOGLE_SUBSCRIPTION_NOTIFICATION as RTDN,
  type UnifiedEventName,
} from './event-names';
import {
  APPLE_ID_FLOOR,
  appleIdAfter,
  firstAppleId,
  googleOrderId,
  googlePurchaseToken,
  pubSubMessageId,
  ulid,
  uuidV4,
} from './identifiers';
import { SandboxError } from './sandbox-error';
import {
  basePlanIdOf,
  defaultPriceMilli,
  graceMs,
  type ProductLookup,
  pauseMs,
  periodMs,
  periodOf,
  type SandboxProduct,
  type SandboxProductType,
  type TimeScale,
} from './sandbox-products';
import { SeededRandom } from './seeded-random';
import type {
  ApplePurchaseRecord,
  AppleSubscriptionStatus,
  AppleTransactionRecord,
  GooglePurchaseRecord,
  GoogleSubscriptionState,
  PurchaseRecord,
  SandboxWebhook,
  WorldState,
} from './world-types';

// The sandbox's model of the two stores: purchases and what happens to them. No I/O and no clock:
// every operation takes `now`, and store event times are forced to increase (a backend orders
// events by them), so the same seed and the same calls replay the same world.

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

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function emptyWorldState(seed: number, now: number): WorldState {
  const random = new SeededRandom(seed);
  const tenantId = `tenant_${ulid(random, now)}`;
  return {
    formatVersion: 1,
    seed,
    randomState: random.position,
    tenantId,
    signingKey: null,
    lastUpstreamAt: 0,
    lastAppleId: null,
    nextPurchaseNumber: 1,
    purchases: [],
    webhooks: [],
  };
}

export class SandboxWorld {
  readonly state: WorldState;
  private readonly config: WorldConfig;
  private readonly signer: AppleJwsSigner;
  private readonly random: SeededRandom;

  constructor(state: WorldState, config: WorldConfig, signer: AppleJwsSigner) {
    this.state = state;
    this.config = config;
    this.signer = signer;
    this.random = new SeededRandom(state.randomState);
  }

  // ─── Look-ups ────────────────────────────────────────────────────────────

  /** By sandbox id, Apple (original) transaction id, Google purchase token or order id. */
  find(ref: string): PurchaseRecord | undefined {
    for (const p of this.state.purchases) {
      if (p.id === ref) return p;
      if (p.platform === 'apple') {
        if (p.originalTransactionId === ref || p.transactions.some((t) => t.transactionId === ref)) return p;
      } else if (p.purchaseToken === ref || p.orderId === ref || p.latestOrderId === ref) {
        return p;
      }
    }
    for (const p of this.state.purchases) {
      if (p.platform === 'google' && ref.startsWith(`${p.orderId}..`)) return p;
    }
    return undefined;
  }

  get(ref: string): PurchaseRecord {
    const found = this.find(ref);
    if (!found) throw new SandboxError('UNKNOWN_PURCHASE', `No sandbox purchase matches "${ref}"`);
    return found;
  }

  findAppleTransaction(
    transactionId: string,
  ): { purchase: ApplePurchaseRecord; transaction: AppleTransactionRecord } | undefined {
    for (const p of this.state.purchases) {
      if (p.platform !== 'apple') continue;
      const transaction = p.transactions.find((t) => t.transactionId === transactionId);
      if (transaction) return { purchase: p, transaction };
    }
    return undefined;
  }

  findGoogleToken(purchaseToken: string): GooglePurchaseRecord | undefined {
    return this.state.purchases.find(
      (p): p is GooglePurchaseRecord => p.platform === 'google' && p.purchaseToken === purchaseToken,
    );
  }

  /** The first token of an upgrade chain, as Attesto resolves it for subject.key (depth ≤ 16). */
  rootTokenOf(purchase: GooglePurchaseRecord): string {
    let current = purchase;
    for (let depth = 0; depth < 16 && current.linkedPurchaseToken; depth++) {
      const previous = this.findGoogleToken(current.linkedPurchaseToken);
      if (!previous) return current.linkedPurchaseToken;
      current = previous;
    }
    return current.purchaseToken;
  }

  signAppleTransaction(
    purchase: ApplePurchaseRecord,
    transaction: AppleTransactionRecord,
    signedDate: number,
  ) {
    const payload = appleTransactionPayload(purchase, transaction, signedDate);
    return { payload, jws: this.signer.sign(payload) };
  }

  // ─── Purchases ───────────────────────────────────────────────────────────

  buy(input: BuyInput, now: number): StepResult {
    const product = this.resolveProduct(input.productId, input.type);
    const appUserId = checkAppUserId(input.appUserId);
    if (input.periodMs !== undefined && !(Number.isInteger(input.periodMs) && input.periodMs >= 1000)) {
      throw new SandboxError('INVALID_INPUT', 'periodMs must be an integer of at least 1000');
    }
    const t = this.tick(now);
    const purchase =
      input.platform === 'apple'
        ? this.newApplePurchase(product, appUserId, t, input)
        : this.newGooglePurchase(product, appUserId, t, input, null);
    this.state.purchases.push(purchase);
    const webhooks =
      purchase.platform === 'apple'
        ? [
            this.appleWebhook(
              purchase,
              purchase.productType === 'subscription' ? 'SUBSCRIBED' : 'ONE_TIME_CHARGE',
              purchase.productType === 'subscription' ? 'INITIAL_BUY' : undefined,
              t,
            ),
          ]
        : [
            purchase.productType === 'subscription'
              ? this.googleSubscriptionWebhook(purchase, RTDN.PURCHASED, t)
              : this.googleProductWebhook(purchase, 1, t),
          ];
    return this.finish(purchase, null, webhooks);
  }

  act(ref: string, action: LifecycleAction, options: ActionOptions, now: number): StepResult {
    const purchase = this.get(ref);
    return purchase.platform === 'apple'
      ? this.actApple(purchase, action, options, now)
      : this.actGoogle(purchase, action, options, now);
  }

  // ─── Apple ───────────────────────────────────────────────────────────────

  private actApple(
    p: ApplePurchaseRecord,
    action: LifecycleAction,
    options: ActionOptions,
    now: number,
  ): StepResult {
    if (action === 'hold' || action === 'pause') {
      throw new SandboxError(
        'UNSUPPORTED',
        `Apple has no "${action}"; use fail-billing (billing retry) instead`,
      );
    }
    if (action === 'refund') return this.appleRefund(p, options.transactionId, now);
    if (action === 'family-share') return this.appleFamilyShare(p, options.appUserId, now);
    if (action === 'revoke') {
      if (p.inAppOwnershipType !== 'FAMILY_SHARED') {
        throw new SandboxError(
          'UNSUPPORTED',
          'Apple sends REVOKE only for family-shared purchases; use refund, or family-share first',
        );
      }
      const latest = lastOf(p.transactions);
      if (latest.revocationDate !== null)
        throw new SandboxError('INVALID_STATE', 'This purchase is already revoked');
      const t = this.tick(now);
      latest.revocationDate = t;
      latest.revocationReason = 0;
      if (p.renewal) {
        p.renewal.status = 5;
        p.renewal.autoRenewStatus = 0;
      }
      return this.finish(p, null, [this.appleWebhook(p, 'REVOKE', undefined, t)]);
    }

    const renewal = requireAppleSubscription(p, action);
    const latest = lastOf(p.transactions);
    if (renewal.status === 5)
      throw new SandboxError('INVALID_STATE', 'This subscription was refunded or revoked');

    switch (action) {
      case 'renew': {
        if (renewal.status === 2) {
          const t = this.tick(now);
          this.appendAppleTransaction(p, t, 'PURCHASE');
          Object.assign(renewal, freshRenewal(p.productId));
          return this.finish(p, null, [this.appleWebhook(p, 'SUBSCRIBED', 'RESUBSCRIBE', t)]);
        }
        if (renewal.status === 3 || renewal.status === 4) return this.actApple(p, 'recover', options, now);
        if (renewal.autoRenewStatus === 0) {
          throw new SandboxError(
            'INVALID_STATE',
            'Auto-renew is off, so the subscription will not renew; uncancel first',
          );
        }
        const t = this.tick(now);
        const start = latest.expiresDate !== null && latest.expiresDate > t ? latest.expiresDate : t;
        this.appendAppleTransaction(p, start, 'RENEWAL');
        const webhooks = [this.appleWebhook(p, 'DID_RENEW', undefined, t)];
        for (const member of this.familyMembersOf(p)) {
          const tm = this.tick(now);
          this.appendAppleTransaction(member, start, 'RENEWAL');
          webhooks.push(this.appleWebhook(member, 'DID_RENEW', undefined, tm));
        }
        return this.finish(p, null, webhooks);
      }
      case 'recover': {
        if (renewal.status !== 3 && renewal.status !== 4) {
          throw new SandboxError(
            'INVALID_STATE',
            'Only a subscription in billing retry or grace can recover; use fail-billing first',
          );
        }
        const t = this.tick(now);
        this.appendAppleTransaction(p, t, 'RENEWAL');
        Object.assign(renewal, freshRenewal(renewal.autoRenewProductId));
        return this.finish(p, null, [this.appleWebhook(p, 'DID_RENEW', 'BILLING_RECOVERY', t)]);
      }
      case 'cancel': {
        if (renewal.status === 2)
          throw new SandboxError('INVALID_STATE', 'This subscription has already expired');
        if (renewal.autoRenewStatus === 0)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is already off');
        const t = this.tick(now);
        renewal.autoRenewStatus = 0;
        renewal.expirationIntent = 1;
        return this.finish(p, null, [
          this.appleWebhook(p, 'DID_CHANGE_RENEWAL_STATUS', 'AUTO_RENEW_DISABLED', t),
        ]);
      }
      case 'uncancel': {
        if (renewal.status === 2)
          throw new SandboxError(
            'INVALID_STATE',
            'This subscription has already expired; renew resubscribes',
          );
        if (renewal.autoRenewStatus === 1)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is already on');
        const t = this.tick(now);
        renewal.autoRenewStatus = 1;
        renewal.expirationIntent = null;
        return this.finish(p, null, [
          this.appleWebhook(p, 'DID_CHANGE_RENEWAL_STATUS', 'AUTO_RENEW_ENABLED', t),
        ]);
      }
      case 'fail-billing': {
        if (renewal.status !== 1)
          throw new SandboxError('INVALID_STATE', 'Only an active subscription can fail to renew');
        if (renewal.autoRenewStatus === 0)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is off, so no renewal is attempted');
        const t = this.tick(now);
        // The renewal date is "now": the period ends here, so verify and the JWS agree it lapsed.
        endPeriodAt(latest, t);
        renewal.isInBillingRetryPeriod = true;
        renewal.expirationIntent = 2;
        if (options.grace) {
          renewal.status = 4;
          renewal.gracePeriodExpiresDate = t + p.graceMs;
          return this.finish(p, null, [this.appleWebhook(p, 'DID_FAIL_TO_RENEW', 'GRACE_PERIOD', t)]);
        }
        renewal.status = 3;
        renewal.gracePeriodExpiresDate = null;
        return this.finish(p, null, [this.appleWebhook(p, 'DID_FAIL_TO_RENEW', undefined, t)]);
      }
      case 'expire': {
        if (renewal.status === 2)
          throw new SandboxError('INVALID_STATE', 'This subscription has already expired');
        const t = this.tick(now);
        const billing = renewal.status === 3 || renewal.status === 4;
        endPeriodAt(latest, t);
        renewal.status = 2;
        renewal.autoRenewStatus = 0;
        renewal.isInBillingRetryPeriod = false;
        renewal.gracePeriodExpiresDate = null;
        renewal.expirationIntent = billing ? 2 : 1;
        return this.finish(p, null, [
          this.appleWebhook(p, 'EXPIRED', billing ? 'BILLING_RETRY' : 'VOLUNTARY', t),
        ]);
      }
      case 'upgrade': {
        if (renewal.status !== 1)
          throw new SandboxError('INVALID_STATE', 'Only an active subscription can be upgraded');
        const next = this.resolveUpgradeTarget(p.productId, options.newProductId);
        const t = this.tick(now);
        latest.isUpgraded = true;
        endPeriodAt(latest, t);
        p.productId = next.productId;
        p.periodMs = periodMs(periodOf(next), this.config.timeScale);
        this.appendAppleTransaction(p, t, 'PURCHASE');
        renewal.autoRenewProductId = next.productId;
        // Apple announces an immediate upgrade as DID_CHANGE_RENEWAL_PREF/UPGRADE (Attesto: renewal_pref_changed).
        return this.finish(p, null, [this.appleWebhook(p, 'DID_CHANGE_RENEWAL_PREF', 'UPGRADE', t)]);
      }
      default:
        throw new SandboxError('UNSUPPORTED', `Unknown action "${action}"`);
    }
  }

  private appleRefund(p: ApplePurchaseRecord, transactionId: string | undefined, now: number): StepResult {
    const transaction = transactionId
      ? p.transactions.find((t) => t.transactionId === transactionId)
      : lastOf(p.transactions);
    if (!transaction)
      throw new SandboxError('UNKNOWN_PURCHASE', `Transaction ${transactionId} is not part of ${p.id}`);
    if (transaction.revocationDate !== null)
      throw new SandboxError('INVALID_STATE', 'This transaction is already refunded or revoked');
    const t = this.tick(now);
    transaction.revocationDate = t;
    transaction.revocationReason = 0;
    if (p.renewal && transaction === lastOf(p.transactions)) {
      p.renewal.status = 5;
      p.renewal.autoRenewStatus = 0;
      p.renewal.isInBillingRetryPeriod = false;
      p.renewal.gracePeriodExpiresDate = null;
    }
    const webhooks = [this.appleWebhook(p, 'REFUND', undefined, t, transaction)];
    // Family members lose what the organiser was refunded.
    for (const member of this.familyMembersOf(p)) {
      const memberLatest = lastOf(member.transactions);
      if (memberLatest.revocationDate !== null) continue;
      const tm = this.tick(now);
      memberLatest.revocationDate = tm;
      memberLatest.revocationReason = 0;
      if (member.renewal) {
        member.renewal.status = 5;
        member.renewal.autoRenewStatus = 0;
      }
      webhooks.push(this.appleWebhook(member, 'REVOKE', undefined, tm));
    }
    return this.finish(p, null, webhooks);
  }

  private appleFamilyShare(
    p: ApplePurchaseRecord,
    memberUserId: string | null | undefined,
    now: number,
  ): StepResult {
    if (p.productType === 'consumable')
      throw new SandboxError('UNSUPPORTED', 'Consumables cannot be family-shared');
    if (p.inAppOwnershipType === 'FAMILY_SHARED') {
      throw new SandboxError('INVALID_STATE', "Share the organiser's purchase, not a family member's copy");
    }
    const latest = lastOf(p.transactions);
    if (latest.revocationDate !== null || p.renewal?.status === 2) {
      throw new SandboxError('INVALID_STATE', 'Only an active purchase can be shared');
    }
    const appUserId = checkAppUserId(memberUserId);
    const t = this.tick(now);
    const originalTransactionId = this.nextAppleId();
    const member: ApplePurchaseRecord = {
      ...structuredClone(p),
      id: this.nextId(),
      appUserId,
      createdAt: t,
      inAppOwnershipType: 'FAMILY_SHARED',
      originalTransactionId,
      originalPurchaseDate: t,
      familySharedFrom: p.id,
      transactions: [
        {
          transactionId: originalTransactionId,
          productId: p.productId,
          purchaseDate: t,
          expiresDate: latest.expiresDate,
          webOrderLineItemId: latest.webOrderLineItemId === null ? null : this.nextAppleId(),
          transactionReason: 'PURCHASE',
          revocationDate: null,
          revocationReason: null,
          isUpgraded: false,
        },
      ],
    };
    this.state.purchases.push(member);
    const webhook =
      member.productType === 'subscription'
        ? this.appleWebhook(member, 'SUBSCRIBED', 'INITIAL_BUY', t)
        : this.appleWebhook(member, 'ONE_TIME_CHARGE', undefined, t);
    return this.finish(p, member, [webhook]);
  }

  /** The fields every new purchase starts with, and its billing period (null: not a subscription). */
  private newPurchaseBase<P extends Platform>(
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

  private newApplePurchase(
    product: SandboxProduct,
    appUserId: string | null,
    t: number,
    input: BuyInput,
  ): ApplePurchaseRecord {
    const isSubscription = product.type === 'subscription';
    const originalTransactionId = this.nextAppleId();
    const { base, period } = this.newPurchaseBase('apple', product, appUserId, t, input);
    return {
      ...base,
      bundleId: input.bundleId ?? this.config.bundleId,
      inAppOwnershipType: 'PURCHASED',
      originalTransactionId,
      originalPurchaseDate: t,
      periodMs: period,
      graceMs: graceMs(this.config.timeScale),
      transactions: [
        {
          transactionId: originalTransactionId,
          productId: product.productId,
          purchaseDate: t,
          expiresDate: period === null ? null : t + period,
          webOrderLineItemId: isSubscription ? this.nextAppleId() : null,
          transactionReason: 'PURCHASE',
          revocationDate: null,
          revocationReason: null,
          isUpgraded: false,
        },
      ],
      renewal: isSubscription ? freshRenewal(product.productId) : null,
      familySharedFrom: null,
    };
  }

  private appendAppleTransaction(
    p: ApplePurchaseRecord,
    start: number,
    reason: 'PURCHASE' | 'RENEWAL',
  ): AppleTransactionRecord {
    const transaction: AppleTransactionRecord = {
      transactionId: this.nextAppleId(),
      productId: p.productId,
      purchaseDate: start,
      expiresDate: start + (p.periodMs ?? 0),
      webOrderLineItemId: this.nextAppleId(),
      transactionReason: reason,
      revocationDate: null,
      revocationReason: null,
      isUpgraded: false,
    };
    p.transactions.push(transaction);
    return transaction;
  }

  private familyMembersOf(p: ApplePurchaseRecord): ApplePurchaseRecord[] {
    return this.state.purchases.filter(
      (m): m is ApplePurchaseRecord =>
        m.platform === 'apple' && m.familySharedFrom === p.id && m.renewal?.status !== 5,
    );
  }

  private appleWebhook(
    p: ApplePurchaseRecord,
    notificationType: string,
    subtype: string | undefined,
    t: number,
    transaction: AppleTransactionRecord = lastOf(p.transactions),
  ): SandboxWebhook {
    const { payload, jws } = this.signAppleTransaction(p, transaction, t);
    const renewalInfo = appleRenewalInfoPayload(p, t);
    const notificationUUID = uuidV4(this.random);
    const input: Parameters<typeof appleNotificationPayload>[0] = {
      notificationType,
      notificationUUID,
      signedDate: t,
      bundleId: p.bundleId,
      signedTransactionInfo: jws,
    };
    if (subtype) input.subtype = subtype;
    if (renewalInfo) input.signedRenewalInfo = this.signer.sign(renewalInfo);
    if (p.renewal) input.status = p.renewal.status;
    const data = appleNotificationPayload(input);
    const subject = {
      key: p.originalTransactionId,
      productId: String(payload.productId),
      type: p.productType === 'subscription' ? ('subscription' as const) : ('product' as const),
    };
    return this.envelope(appleEventName(notificationType, subtype), {
      externalId: notificationUUID,
      t,
      source: 'apple',
      subject,
      appUserId: p.appUserId,
      data,
      raw: { signedPayload: this.signer.sign(data) },
    });
  }

  // ─── Google ──────────────────────────────────────────────────────────────

  private actGoogle(
    p: GooglePurchaseRecord,
    action: LifecycleAction,
    options: ActionOptions,
    now: number,
  ): StepResult {
    if (action === 'family-share')
      throw new SandboxError('UNSUPPORTED', 'Google Play has no family sharing of purchases');
    if (action === 'refund' && options.transactionId !== undefined) {
      return this.googleRefundOrder(p, options.transactionId, now);
    }
    if (action === 'refund') {
      if (p.voided) throw new SandboxError('INVALID_STATE', 'This purchase is already refunded');
      const t = this.tick(now);
      p.voided = true;
      if (p.productType === 'subscription') {
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
      } else {
        p.purchaseState = 1;
      }
      return this.finish(p, null, [this.googleVoidedWebhook(p, t)]);
    }
    if (p.productType !== 'subscription') {
      throw new SandboxError(
        'UNSUPPORTED',
        `"${action}" applies to subscriptions; a one-time product can only be refunded`,
      );
    }
    const state = p.subscriptionState;
    if (p.replacedBy)
      throw new SandboxError('INVALID_STATE', `This token was replaced by an upgrade (${p.replacedBy})`);
    if (state === 'SUBSCRIPTION_STATE_EXPIRED') {
      throw new SandboxError('INVALID_STATE', 'This subscription has expired; buy again for a new token');
    }

    switch (action) {
      case 'renew': {
        if (state === 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD' || state === 'SUBSCRIPTION_STATE_ON_HOLD') {
          return this.actGoogle(p, 'recover', options, now);
        }
        if (state === 'SUBSCRIPTION_STATE_CANCELED') {
          throw new SandboxError(
            'INVALID_STATE',
            'Auto-renew is off, so the subscription will not renew; uncancel first',
          );
        }
        const t = this.tick(now);
        const start = state === 'SUBSCRIPTION_STATE_PAUSED' ? t : Math.max(p.expiryTime ?? t, t);
        this.newGoogleOrder(p);
        p.expiryTime = start + (p.periodMs ?? 0);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        p.pauseResumeAt = null;
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.RENEWED, t)]);
      }
      case 'recover': {
        if (state !== 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD' && state !== 'SUBSCRIPTION_STATE_ON_HOLD') {
          throw new SandboxError(
            'INVALID_STATE',
            'Only a subscription in grace or on hold can recover; use fail-billing first',
          );
        }
        const t = this.tick(now);
        this.newGoogleOrder(p);
        p.expiryTime = t + (p.periodMs ?? 0);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.RECOVERED, t)]);
      }
      case 'cancel': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE')
          throw new SandboxError('INVALID_STATE', `Cannot cancel in ${state}`);
        const t = this.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_CANCELED';
        p.autoRenewEnabled = false;
        p.canceledAt = t;
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.CANCELED, t)]);
      }
      case 'uncancel': {
        if (state !== 'SUBSCRIPTION_STATE_CANCELED')
          throw new SandboxError('INVALID_STATE', 'Only a canceled subscription can be restarted');
        const t = this.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        p.autoRenewEnabled = true;
        p.canceledAt = null;
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.RESTARTED, t)]);
      }
      case 'fail-billing':
      case 'hold': {
        const grace = action === 'fail-billing' && options.grace === true;
        const allowed: GoogleSubscriptionState[] =
          action === 'hold'
            ? ['SUBSCRIPTION_STATE_ACTIVE', 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD']
            : ['SUBSCRIPTION_STATE_ACTIVE'];
        if (!state || !allowed.includes(state))
          throw new SandboxError('INVALID_STATE', `Cannot ${action} in ${state}`);
        const t = this.tick(now);
        if (grace) {
          // Google moves expiryTime to the end of the grace period.
          p.subscriptionState = 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD';
          p.expiryTime = t + p.graceMs;
          return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.IN_GRACE_PERIOD, t)]);
        }
        p.subscriptionState = 'SUBSCRIPTION_STATE_ON_HOLD';
        p.expiryTime = Math.min(p.expiryTime ?? t, t);
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.ON_HOLD, t)]);
      }
      case 'pause': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE')
          throw new SandboxError('INVALID_STATE', `Cannot pause in ${state}`);
        const t = this.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_PAUSED';
        p.expiryTime = Math.min(p.expiryTime ?? t, t);
        p.pauseResumeAt = t + pauseMs(this.config.timeScale);
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.PAUSED, t)]);
      }
      case 'expire': {
        const t = this.tick(now);
        this.endGoogleSubscription(p, t);
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.EXPIRED, t)]);
      }
      case 'revoke': {
        const t = this.tick(now);
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
        return this.finish(p, null, [this.googleSubscriptionWebhook(p, RTDN.REVOKED, t)]);
      }
      case 'upgrade': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE' && state !== 'SUBSCRIPTION_STATE_CANCELED') {
          throw new SandboxError('INVALID_STATE', `Cannot change plans in ${state}`);
        }
        const next = this.resolveUpgradeTarget(p.productId, options.newProductId);
        const t = this.tick(now);
        const created = this.newGooglePurchase(
          next,
          p.appUserId,
          t,
          { platform: 'google', productId: next.productId, packageName: p.packageName },
          p.purchaseToken,
        );
        this.state.purchases.push(created);
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
        p.replacedBy = created.id;
        // Google also tells of the replaced token, after the new one's purchase, and Attesto
        // delivers it under the same root subject.key: a backend must not let it end the plan.
        const replacedAt = this.tick(now);
        return this.finish(p, created, [
          this.googleSubscriptionWebhook(created, RTDN.PURCHASED, t),
          this.googleSubscriptionWebhook(p, RTDN.EXPIRED, replacedAt),
        ]);
      }
      default:
        throw new SandboxError('UNSUPPORTED', `Unknown action "${action}"`);
    }
  }

  /**
   * Play Console's refund of one order without revoking: the buyer gets that payment back and the
   * subscription carries on, so Google sends only the voided purchase (naming that order).
   */
  private googleRefundOrder(p: GooglePurchaseRecord, orderId: string, now: number): StepResult {
    const renewal = orderId.startsWith(`${p.orderId}..`) ? Number(orderId.slice(p.orderId.length + 2)) : -1;
    const known =
      orderId === p.orderId || (Number.isInteger(renewal) && renewal >= 0 && renewal < p.renewalCount);
    if (p.productType !== 'subscription' || !known) {
      throw new SandboxError(
        'UNKNOWN_PURCHASE',
        `Order ${orderId} is not an order of subscription ${p.id}; a one-time product is refunded whole`,
      );
    }
    if (p.voided) throw new SandboxError('INVALID_STATE', 'This purchase is already refunded');
    const t = this.tick(now);
    return this.finish(p, null, [this.googleVoidedWebhook(p, t, orderId)]);
  }

  private newGooglePurchase(
    product: SandboxProduct,
    appUserId: string | null,
    t: number,
    input: BuyInput,
    linkedPurchaseToken: string | null,
  ): GooglePurchaseRecord {
    const isSubscription = product.type === 'subscription';
    const { base, period } = this.newPurchaseBase('google', product, appUserId, t, input);
    const orderId = googleOrderId(this.random);
    return {
      ...base,
      packageName: input.packageName ?? this.config.packageName,
      purchaseToken: googlePurchaseToken(this.random),
      linkedPurchaseToken,
      replacedBy: null,
      basePlanId: isSubscription ? basePlanIdOf(product) : null,
      orderId,
      renewalCount: 0,
      latestOrderId: orderId,
      startTime: t,
      expiryTime: period === null ? null : t + period,
      periodMs: period,
      graceMs: graceMs(this.config.timeScale),
      subscriptionState: isSubscription ? 'SUBSCRIPTION_STATE_ACTIVE' : null,
      autoRenewEnabled: isSubscription,
      canceledAt: null,
      pauseResumeAt: null,
      purchaseState: 0,
      consumptionState: 0,
      voided: false,
    };
  }

  private newGoogleOrder(p: GooglePurchaseRecord): void {
    p.latestOrderId = `${p.orderId}..${p.renewalCount}`;
    p.renewalCount += 1;
  }

  private endGoogleSubscription(p: GooglePurchaseRecord, t: number): void {
    p.subscriptionState = 'SUBSCRIPTION_STATE_EXPIRED';
    p.autoRenewEnabled = false;
    p.expiryTime = Math.min(p.expiryTime ?? t, t);
    p.pauseResumeAt = null;
  }

  private googleDeveloperNotification(p: GooglePurchaseRecord, t: number, body: Record<string, unknown>) {
    return { version: '1.0', packageName: p.packageName, eventTimeMillis: String(t), ...body };
  }

  private googleSubscriptionWebhook(
    p: GooglePurchaseRecord,
    notificationType: number,
    t: number,
  ): SandboxWebhook {
    const data = this.googleDeveloperNotification(p, t, {
      subscriptionNotification: {
        version: '1.0',
        notificationType,
        purchaseToken: p.purchaseToken,
        subscriptionId: p.productId,
      },
    });
    return this.googleEnvelope(googleSubscriptionEventName(notificationType), t, data, {
      subject: { key: this.rootTokenOf(p), productId: p.productId, type: 'subscription' },
      // Attesto reads obfuscatedExternalAccountId from the Play API for subscription notifications.
      appUserId: p.appUserId,
    });
  }

  private googleProductWebhook(p: GooglePurchaseRecord, notificationType: number, t: number): SandboxWebhook {
    const data = this.googleDeveloperNotification(p, t, {
      oneTimeProductNotification: {
        version: '1.0',
        notificationType,
        purchaseToken: p.purchaseToken,
        sku: p.productId,
      },
    });
    // Attesto does not look one-time purchases up, so their webhooks carry no appUserId.
    return this.googleEnvelope(googleProductEventName(notificationType), t, data, {
      subject: { key: p.purchaseToken, productId: p.productId, type: 'product' },
      appUserId: null,
    });
  }

  private googleVoidedWebhook(p: GooglePurchaseRecord, t: number, orderId = p.latestOrderId): SandboxWebhook {
    const data = this.googleDeveloperNotification(p, t, {
      voidedPurchaseNotification: {
        purchaseToken: p.purchaseToken,
        orderId,
        productType: p.productType === 'subscription' ? 1 : 2,
        refundType: 1,
      },
    });
    return this.googleEnvelope(GOOGLE_VOIDED_EVENT, t, data, { subject: null, appUserId: null });
  }

  private googleEnvelope(
    name: UnifiedEventName,
    t: number,
    data: Record<string, unknown>,
    who: Pick<SandboxWebhook, 'subject' | 'appUserId'>,
  ): SandboxWebhook {
    const messageId = pubSubMessageId(this.random);
    return this.envelope(name, {
      externalId: messageId,
      t,
      source: 'google',
      ...who,
      data,
      raw: {
        message: {
          data: Buffer.from(JSON.stringify(data)).toString('base64'),
          messageId,
          publishTime: new Date(t).toISOString(),
        },
      },
    });
  }

  // ─── Shared ──────────────────────────────────────────────────────────────

  private envelope(
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

  private finish(
    purchase: PurchaseRecord,
    created: PurchaseRecord | null,
    webhooks: SandboxWebhook[],
  ): StepResult {
    this.state.webhooks.push(...webhooks);
    this.state.randomState = this.random.position;
    return { purchase, created, webhooks };
  }

  /** A strictly increasing upstream time: a backend orders events by signedDate / eventTimeMillis. */
  private tick(now: number): number {
    const t = Math.max(Math.floor(now), this.state.lastUpstreamAt + 1);
    this.state.lastUpstreamAt = t;
    return t;
  }

  private nextId(): string {
    const id = `sbx_${this.state.nextPurchaseNumber}`;
    this.state.nextPurchaseNumber += 1;
    return id;
  }

  /**
   * Apple numbers transactions in one increasing sequence, and a backend relies on it (restore
   * keeps the highest transactionId per product), so every new id is strictly greater than any
   * the world holds. The gaps are random, as other apps' purchases take numbers in between.
   */
  private nextAppleId(): string {
    const last = this.state.lastAppleId ?? highestAppleId(this.state.purchases);
    const next = last === null ? firstAppleId(this.random) : appleIdAfter(last, this.random);
    this.state.lastAppleId = next;
    return String(next);
  }

  private resolveProduct(productId: string, type: SandboxProductType | undefined): SandboxProduct {
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

  private resolveUpgradeTarget(currentProductId: string, newProductId: string | undefined): SandboxProduct {
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

/** The highest Apple id in a world saved before ids were sequential (null when it holds none). */
function highestAppleId(purchases: readonly PurchaseRecord[]): number | null {
  let highest: number | null = null;
  for (const p of purchases) {
    if (p.platform !== 'apple') continue;
    for (const id of [
      p.originalTransactionId,
      ...p.transactions.flatMap((t) => [t.transactionId, t.webOrderLineItemId]),
    ]) {
      const n = id === null ? Number.NaN : Number(id);
      if (Number.isSafeInteger(n) && n >= APPLE_ID_FLOOR && (highest === null || n > highest)) highest = n;
    }
  }
  return highest;
}

function freshRenewal(productId: string) {
  return {
    autoRenewStatus: 1 as const,
    autoRenewProductId: productId,
    status: 1 as AppleSubscriptionStatus,
    isInBillingRetryPeriod: false,
    gracePeriodExpiresDate: null,
    expirationIntent: null,
  };
}

function requireAppleSubscription(p: ApplePurchaseRecord, action: string) {
  if (!p.renewal) {
    throw new SandboxError(
      'UNSUPPORTED',
      `"${action}" applies to subscriptions; a one-time purchase can only be refunded or family-shared`,
    );
  }
  return p.renewal;
}

function endPeriodAt(transaction: AppleTransactionRecord, t: number): void {
  if (transaction.expiresDate !== null && transaction.expiresDate > t) transaction.expiresDate = t;
}

function lastOf<T>(items: T[]): T {
  const last = items.at(-1);
  if (last === undefined) throw new Error('a purchase always has at least one transaction');
  return last;
}

function checkAppUserId(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (!UUID_V4.test(value))
    throw new SandboxError('INVALID_INPUT', `appUserId must be a UUID v4, got "${value}"`);
  return value.toLowerCase();
}
