import type { AppleJwsSigner } from './apple-jws-signer';
import { appleNotificationPayload, appleRenewalInfoPayload, appleTransactionPayload } from './apple-payloads';
import { appleEventName } from './event-names';
import { APPLE_ID_FLOOR, appleIdAfter, firstAppleId, uuidV4 } from './identifiers';
import { SandboxError } from './sandbox-error';
import { graceMs, periodMs, periodOf, type SandboxProduct } from './sandbox-products';
import {
  type ActionOptions,
  type BuyInput,
  checkAppUserId,
  type LifecycleAction,
  lastOf,
  type StepResult,
  type WorldCore,
} from './world-core';
import {
  APPLE_SUBSCRIPTION_STATUS,
  type ApplePurchaseRecord,
  type AppleSubscriptionStatus,
  type AppleTransactionRecord,
  type PurchaseRecord,
  type SandboxWebhook,
} from './world-types';

// What happens to an App Store purchase in the sandbox world, and the signed notifications Apple
// sends about it, wrapped as Attesto delivers them.

export class AppleActions {
  private readonly world: WorldCore;
  private readonly signer: AppleJwsSigner;

  constructor(world: WorldCore, signer: AppleJwsSigner) {
    this.world = world;
    this.signer = signer;
  }

  act(p: ApplePurchaseRecord, action: LifecycleAction, options: ActionOptions, now: number): StepResult {
    if (action === 'hold' || action === 'pause') {
      throw new SandboxError(
        'UNSUPPORTED',
        `Apple has no "${action}"; use fail-billing (billing retry) instead`,
      );
    }
    if (action === 'refund') return this.refund(p, options.transactionId, now);
    if (action === 'family-share') return this.familyShare(p, options.appUserId, now);
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
      const t = this.world.tick(now);
      latest.revocationDate = t;
      latest.revocationReason = 0;
      if (p.renewal) {
        p.renewal.status = APPLE_SUBSCRIPTION_STATUS.REVOKED;
        p.renewal.autoRenewStatus = 0;
      }
      return this.world.finish(p, null, [this.webhook(p, 'REVOKE', undefined, t)]);
    }

    const renewal = requireAppleSubscription(p, action);
    const latest = lastOf(p.transactions);
    if (renewal.status === APPLE_SUBSCRIPTION_STATUS.REVOKED)
      throw new SandboxError('INVALID_STATE', 'This subscription was refunded or revoked');

    switch (action) {
      case 'renew': {
        if (renewal.status === APPLE_SUBSCRIPTION_STATUS.EXPIRED) {
          const t = this.world.tick(now);
          this.appendTransaction(p, t, 'PURCHASE');
          Object.assign(renewal, freshRenewal(p.productId));
          return this.world.finish(p, null, [this.webhook(p, 'SUBSCRIBED', 'RESUBSCRIBE', t)]);
        }
        if (
          renewal.status === APPLE_SUBSCRIPTION_STATUS.BILLING_RETRY ||
          renewal.status === APPLE_SUBSCRIPTION_STATUS.GRACE_PERIOD
        )
          return this.act(p, 'recover', options, now);
        if (renewal.autoRenewStatus === 0) {
          throw new SandboxError(
            'INVALID_STATE',
            'Auto-renew is off, so the subscription will not renew; uncancel first',
          );
        }
        const t = this.world.tick(now);
        const start = latest.expiresDate !== null && latest.expiresDate > t ? latest.expiresDate : t;
        this.appendTransaction(p, start, 'RENEWAL');
        const webhooks = [this.webhook(p, 'DID_RENEW', undefined, t)];
        for (const member of this.familyMembersOf(p)) {
          const tm = this.world.tick(now);
          this.appendTransaction(member, start, 'RENEWAL');
          webhooks.push(this.webhook(member, 'DID_RENEW', undefined, tm));
        }
        return this.world.finish(p, null, webhooks);
      }
      case 'recover': {
        if (
          renewal.status !== APPLE_SUBSCRIPTION_STATUS.BILLING_RETRY &&
          renewal.status !== APPLE_SUBSCRIPTION_STATUS.GRACE_PERIOD
        ) {
          throw new SandboxError(
            'INVALID_STATE',
            'Only a subscription in billing retry or grace can recover; use fail-billing first',
          );
        }
        const t = this.world.tick(now);
        this.appendTransaction(p, t, 'RENEWAL');
        Object.assign(renewal, freshRenewal(renewal.autoRenewProductId));
        return this.world.finish(p, null, [this.webhook(p, 'DID_RENEW', 'BILLING_RECOVERY', t)]);
      }
      case 'cancel': {
        if (renewal.status === APPLE_SUBSCRIPTION_STATUS.EXPIRED)
          throw new SandboxError('INVALID_STATE', 'This subscription has already expired');
        if (renewal.autoRenewStatus === 0)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is already off');
        const t = this.world.tick(now);
        renewal.autoRenewStatus = 0;
        renewal.expirationIntent = 1;
        return this.world.finish(p, null, [
          this.webhook(p, 'DID_CHANGE_RENEWAL_STATUS', 'AUTO_RENEW_DISABLED', t),
        ]);
      }
      case 'uncancel': {
        if (renewal.status === APPLE_SUBSCRIPTION_STATUS.EXPIRED)
          throw new SandboxError(
            'INVALID_STATE',
            'This subscription has already expired; renew resubscribes',
          );
        if (renewal.autoRenewStatus === 1)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is already on');
        const t = this.world.tick(now);
        renewal.autoRenewStatus = 1;
        renewal.expirationIntent = null;
        return this.world.finish(p, null, [
          this.webhook(p, 'DID_CHANGE_RENEWAL_STATUS', 'AUTO_RENEW_ENABLED', t),
        ]);
      }
      case 'fail-billing': {
        if (renewal.status !== APPLE_SUBSCRIPTION_STATUS.ACTIVE)
          throw new SandboxError('INVALID_STATE', 'Only an active subscription can fail to renew');
        if (renewal.autoRenewStatus === 0)
          throw new SandboxError('INVALID_STATE', 'Auto-renew is off, so no renewal is attempted');
        const t = this.world.tick(now);
        // The renewal date is "now": the period ends here, so verify and the JWS agree it lapsed.
        endPeriodAt(latest, t);
        renewal.isInBillingRetryPeriod = true;
        renewal.expirationIntent = 2;
        if (options.grace) {
          renewal.status = APPLE_SUBSCRIPTION_STATUS.GRACE_PERIOD;
          renewal.gracePeriodExpiresDate = t + p.graceMs;
          return this.world.finish(p, null, [this.webhook(p, 'DID_FAIL_TO_RENEW', 'GRACE_PERIOD', t)]);
        }
        renewal.status = APPLE_SUBSCRIPTION_STATUS.BILLING_RETRY;
        renewal.gracePeriodExpiresDate = null;
        return this.world.finish(p, null, [this.webhook(p, 'DID_FAIL_TO_RENEW', undefined, t)]);
      }
      case 'expire': {
        if (renewal.status === APPLE_SUBSCRIPTION_STATUS.EXPIRED)
          throw new SandboxError('INVALID_STATE', 'This subscription has already expired');
        const t = this.world.tick(now);
        const billing =
          renewal.status === APPLE_SUBSCRIPTION_STATUS.BILLING_RETRY ||
          renewal.status === APPLE_SUBSCRIPTION_STATUS.GRACE_PERIOD;
        endPeriodAt(latest, t);
        renewal.status = APPLE_SUBSCRIPTION_STATUS.EXPIRED;
        renewal.autoRenewStatus = 0;
        renewal.isInBillingRetryPeriod = false;
        renewal.gracePeriodExpiresDate = null;
        renewal.expirationIntent = billing ? 2 : 1;
        return this.world.finish(p, null, [
          this.webhook(p, 'EXPIRED', billing ? 'BILLING_RETRY' : 'VOLUNTARY', t),
        ]);
      }
      case 'upgrade': {
        if (renewal.status !== APPLE_SUBSCRIPTION_STATUS.ACTIVE)
          throw new SandboxError('INVALID_STATE', 'Only an active subscription can be upgraded');
        const next = this.world.resolveUpgradeTarget(p.productId, options.newProductId);
        const t = this.world.tick(now);
        latest.isUpgraded = true;
        endPeriodAt(latest, t);
        p.productId = next.productId;
        p.periodMs = periodMs(periodOf(next), this.world.config.timeScale);
        this.appendTransaction(p, t, 'PURCHASE');
        renewal.autoRenewProductId = next.productId;
        // Apple announces an immediate upgrade as DID_CHANGE_RENEWAL_PREF/UPGRADE (Attesto: renewal_pref_changed).
        return this.world.finish(p, null, [this.webhook(p, 'DID_CHANGE_RENEWAL_PREF', 'UPGRADE', t)]);
      }
      default:
        throw new SandboxError('UNSUPPORTED', `Unknown action "${action}"`);
    }
  }

  private refund(p: ApplePurchaseRecord, transactionId: string | undefined, now: number): StepResult {
    const transaction = transactionId
      ? p.transactions.find((t) => t.transactionId === transactionId)
      : lastOf(p.transactions);
    if (!transaction)
      throw new SandboxError('UNKNOWN_PURCHASE', `Transaction ${transactionId} is not part of ${p.id}`);
    if (transaction.revocationDate !== null)
      throw new SandboxError('INVALID_STATE', 'This transaction is already refunded or revoked');
    const t = this.world.tick(now);
    transaction.revocationDate = t;
    transaction.revocationReason = 0;
    if (p.renewal && transaction === lastOf(p.transactions)) {
      p.renewal.status = APPLE_SUBSCRIPTION_STATUS.REVOKED;
      p.renewal.autoRenewStatus = 0;
      p.renewal.isInBillingRetryPeriod = false;
      p.renewal.gracePeriodExpiresDate = null;
    }
    const webhooks = [this.webhook(p, 'REFUND', undefined, t, transaction)];
    // Family members lose what the organiser was refunded.
    for (const member of this.familyMembersOf(p)) {
      const memberLatest = lastOf(member.transactions);
      if (memberLatest.revocationDate !== null) continue;
      const tm = this.world.tick(now);
      memberLatest.revocationDate = tm;
      memberLatest.revocationReason = 0;
      if (member.renewal) {
        member.renewal.status = APPLE_SUBSCRIPTION_STATUS.REVOKED;
        member.renewal.autoRenewStatus = 0;
      }
      webhooks.push(this.webhook(member, 'REVOKE', undefined, tm));
    }
    return this.world.finish(p, null, webhooks);
  }

  private familyShare(
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
    if (latest.revocationDate !== null || p.renewal?.status === APPLE_SUBSCRIPTION_STATUS.EXPIRED) {
      throw new SandboxError('INVALID_STATE', 'Only an active purchase can be shared');
    }
    const appUserId = checkAppUserId(memberUserId);
    const t = this.world.tick(now);
    const originalTransactionId = this.nextId();
    const member: ApplePurchaseRecord = {
      ...structuredClone(p),
      id: this.world.nextId(),
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
          webOrderLineItemId: latest.webOrderLineItemId === null ? null : this.nextId(),
          transactionReason: 'PURCHASE',
          revocationDate: null,
          revocationReason: null,
          isUpgraded: false,
        },
      ],
    };
    this.world.state.purchases.push(member);
    const webhook =
      member.productType === 'subscription'
        ? this.webhook(member, 'SUBSCRIBED', 'INITIAL_BUY', t)
        : this.webhook(member, 'ONE_TIME_CHARGE', undefined, t);
    return this.world.finish(p, member, [webhook]);
  }

  newPurchase(
    product: SandboxProduct,
    appUserId: string | null,
    t: number,
    input: BuyInput,
  ): ApplePurchaseRecord {
    const isSubscription = product.type === 'subscription';
    const originalTransactionId = this.nextId();
    const { base, period } = this.world.newPurchaseBase('apple', product, appUserId, t, input);
    return {
      ...base,
      bundleId: input.bundleId ?? this.world.config.bundleId,
      inAppOwnershipType: 'PURCHASED',
      originalTransactionId,
      originalPurchaseDate: t,
      periodMs: period,
      graceMs: graceMs(this.world.config.timeScale),
      transactions: [
        {
          transactionId: originalTransactionId,
          productId: product.productId,
          purchaseDate: t,
          expiresDate: period === null ? null : t + period,
          webOrderLineItemId: isSubscription ? this.nextId() : null,
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

  private appendTransaction(
    p: ApplePurchaseRecord,
    start: number,
    reason: 'PURCHASE' | 'RENEWAL',
  ): AppleTransactionRecord {
    const transaction: AppleTransactionRecord = {
      transactionId: this.nextId(),
      productId: p.productId,
      purchaseDate: start,
      expiresDate: start + (p.periodMs ?? 0),
      webOrderLineItemId: this.nextId(),
      transactionReason: reason,
      revocationDate: null,
      revocationReason: null,
      isUpgraded: false,
    };
    p.transactions.push(transaction);
    return transaction;
  }

  private familyMembersOf(p: ApplePurchaseRecord): ApplePurchaseRecord[] {
    return this.world.state.purchases.filter(
      (m): m is ApplePurchaseRecord =>
        m.platform === 'apple' &&
        m.familySharedFrom === p.id &&
        m.renewal?.status !== APPLE_SUBSCRIPTION_STATUS.REVOKED,
    );
  }

  /** The notification of a new purchase: SUBSCRIBED/INITIAL_BUY, or ONE_TIME_CHARGE. */
  purchasedWebhook(p: ApplePurchaseRecord, t: number): SandboxWebhook {
    return p.productType === 'subscription'
      ? this.webhook(p, 'SUBSCRIBED', 'INITIAL_BUY', t)
      : this.webhook(p, 'ONE_TIME_CHARGE', undefined, t);
  }

  private webhook(
    p: ApplePurchaseRecord,
    notificationType: string,
    subtype: string | undefined,
    t: number,
    transaction: AppleTransactionRecord = lastOf(p.transactions),
  ): SandboxWebhook {
    const { payload, jws } = this.signTransaction(p, transaction, t);
    const renewalInfo = appleRenewalInfoPayload(p, t);
    const notificationUUID = uuidV4(this.world.random);
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
    return this.world.envelope(appleEventName(notificationType, subtype), {
      externalId: notificationUUID,
      t,
      source: 'apple',
      subject,
      appUserId: p.appUserId,
      data,
      raw: { signedPayload: this.signer.sign(data) },
    });
  }

  signTransaction(purchase: ApplePurchaseRecord, transaction: AppleTransactionRecord, signedDate: number) {
    const payload = appleTransactionPayload(purchase, transaction, signedDate);
    return { payload, jws: this.signer.sign(payload) };
  }

  /**
   * Apple numbers transactions in one increasing sequence, and a backend relies on it (restore
   * keeps the highest transactionId per product), so every new id is strictly greater than any
   * the world holds. The gaps are random, as other apps' purchases take numbers in between.
   */
  private nextId(): string {
    const last = this.world.state.lastAppleId ?? highestAppleId(this.world.state.purchases);
    const next = last === null ? firstAppleId(this.world.random) : appleIdAfter(last, this.world.random);
    this.world.state.lastAppleId = next;
    return String(next);
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
    status: APPLE_SUBSCRIPTION_STATUS.ACTIVE as AppleSubscriptionStatus,
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
