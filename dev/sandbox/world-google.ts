import {
  GOOGLE_VOIDED_EVENT,
  googleProductEventName,
  googleSubscriptionEventName,
  GOOGLE_SUBSCRIPTION_NOTIFICATION as RTDN,
  type UnifiedEventName,
} from './event-names';
import { googleOrderId, googlePurchaseToken, pubSubMessageId } from './identifiers';
import { SandboxError } from './sandbox-error';
import { basePlanIdOf, graceMs, pauseMs, type SandboxProduct } from './sandbox-products';
import type { ActionOptions, BuyInput, LifecycleAction, StepResult, WorldCore } from './world-core';
import type { GooglePurchaseRecord, GoogleSubscriptionState, SandboxWebhook } from './world-types';

// What happens to a Google Play purchase in the sandbox world, and the real-time developer
// notifications Google publishes about it, wrapped as Attesto delivers them.

export class GoogleActions {
  private readonly world: WorldCore;

  constructor(world: WorldCore) {
    this.world = world;
  }

  act(p: GooglePurchaseRecord, action: LifecycleAction, options: ActionOptions, now: number): StepResult {
    if (action === 'family-share')
      throw new SandboxError('UNSUPPORTED', 'Google Play has no family sharing of purchases');
    if (action === 'refund' && options.transactionId !== undefined) {
      return this.googleRefundOrder(p, options.transactionId, now);
    }
    if (action === 'refund') {
      if (p.voided) throw new SandboxError('INVALID_STATE', 'This purchase is already refunded');
      const t = this.world.tick(now);
      p.voided = true;
      if (p.productType === 'subscription') {
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
      } else {
        p.purchaseState = 1;
      }
      return this.world.finish(p, null, [this.googleVoidedWebhook(p, t)]);
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
          return this.act(p, 'recover', options, now);
        }
        if (state === 'SUBSCRIPTION_STATE_CANCELED') {
          throw new SandboxError(
            'INVALID_STATE',
            'Auto-renew is off, so the subscription will not renew; uncancel first',
          );
        }
        const t = this.world.tick(now);
        const start = state === 'SUBSCRIPTION_STATE_PAUSED' ? t : Math.max(p.expiryTime ?? t, t);
        this.newGoogleOrder(p);
        p.expiryTime = start + (p.periodMs ?? 0);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        p.pauseResumeAt = null;
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.RENEWED, t)]);
      }
      case 'recover': {
        if (state !== 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD' && state !== 'SUBSCRIPTION_STATE_ON_HOLD') {
          throw new SandboxError(
            'INVALID_STATE',
            'Only a subscription in grace or on hold can recover; use fail-billing first',
          );
        }
        const t = this.world.tick(now);
        this.newGoogleOrder(p);
        p.expiryTime = t + (p.periodMs ?? 0);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.RECOVERED, t)]);
      }
      case 'cancel': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE')
          throw new SandboxError('INVALID_STATE', `Cannot cancel in ${state}`);
        const t = this.world.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_CANCELED';
        p.autoRenewEnabled = false;
        p.canceledAt = t;
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.CANCELED, t)]);
      }
      case 'uncancel': {
        if (state !== 'SUBSCRIPTION_STATE_CANCELED')
          throw new SandboxError('INVALID_STATE', 'Only a canceled subscription can be restarted');
        const t = this.world.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_ACTIVE';
        p.autoRenewEnabled = true;
        p.canceledAt = null;
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.RESTARTED, t)]);
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
        const t = this.world.tick(now);
        if (grace) {
          // Google moves expiryTime to the end of the grace period.
          p.subscriptionState = 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD';
          p.expiryTime = t + p.graceMs;
          return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.IN_GRACE_PERIOD, t)]);
        }
        p.subscriptionState = 'SUBSCRIPTION_STATE_ON_HOLD';
        p.expiryTime = Math.min(p.expiryTime ?? t, t);
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.ON_HOLD, t)]);
      }
      case 'pause': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE')
          throw new SandboxError('INVALID_STATE', `Cannot pause in ${state}`);
        const t = this.world.tick(now);
        p.subscriptionState = 'SUBSCRIPTION_STATE_PAUSED';
        p.expiryTime = Math.min(p.expiryTime ?? t, t);
        p.pauseResumeAt = t + pauseMs(this.world.config.timeScale);
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.PAUSED, t)]);
      }
      case 'expire': {
        const t = this.world.tick(now);
        this.endGoogleSubscription(p, t);
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.EXPIRED, t)]);
      }
      case 'revoke': {
        const t = this.world.tick(now);
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
        return this.world.finish(p, null, [this.subscriptionWebhook(p, RTDN.REVOKED, t)]);
      }
      case 'upgrade': {
        if (state !== 'SUBSCRIPTION_STATE_ACTIVE' && state !== 'SUBSCRIPTION_STATE_CANCELED') {
          throw new SandboxError('INVALID_STATE', `Cannot change plans in ${state}`);
        }
        const next = this.world.resolveUpgradeTarget(p.productId, options.newProductId);
        const t = this.world.tick(now);
        const created = this.newPurchase(
          next,
          p.appUserId,
          t,
          { platform: 'google', productId: next.productId, packageName: p.packageName },
          p.purchaseToken,
        );
        this.world.state.purchases.push(created);
        this.endGoogleSubscription(p, t);
        p.canceledAt = t;
        p.replacedBy = created.id;
        // Google also tells of the replaced token, after the new one's purchase, and Attesto
        // delivers it under the same root subject.key: a backend must not let it end the plan.
        const replacedAt = this.world.tick(now);
        return this.world.finish(p, created, [
          this.subscriptionWebhook(created, RTDN.PURCHASED, t),
          this.subscriptionWebhook(p, RTDN.EXPIRED, replacedAt),
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
    const t = this.world.tick(now);
    return this.world.finish(p, null, [this.googleVoidedWebhook(p, t, orderId)]);
  }

  newPurchase(
    product: SandboxProduct,
    appUserId: string | null,
    t: number,
    input: BuyInput,
    linkedPurchaseToken: string | null,
  ): GooglePurchaseRecord {
    const isSubscription = product.type === 'subscription';
    const { base, period } = this.world.newPurchaseBase('google', product, appUserId, t, input);
    const orderId = googleOrderId(this.world.random);
    return {
      ...base,
      packageName: input.packageName ?? this.world.config.packageName,
      purchaseToken: googlePurchaseToken(this.world.random),
      linkedPurchaseToken,
      replacedBy: null,
      basePlanId: isSubscription ? basePlanIdOf(product) : null,
      orderId,
      renewalCount: 0,
      latestOrderId: orderId,
      startTime: t,
      expiryTime: period === null ? null : t + period,
      periodMs: period,
      graceMs: graceMs(this.world.config.timeScale),
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

  /** The notification of a new purchase: SUBSCRIPTION_PURCHASED, or ONE_TIME_PRODUCT_PURCHASED (1). */
  purchasedWebhook(p: GooglePurchaseRecord, t: number): SandboxWebhook {
    return p.productType === 'subscription'
      ? this.subscriptionWebhook(p, RTDN.PURCHASED, t)
      : this.productWebhook(p, 1, t);
  }

  private subscriptionWebhook(p: GooglePurchaseRecord, notificationType: number, t: number): SandboxWebhook {
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

  private productWebhook(p: GooglePurchaseRecord, notificationType: number, t: number): SandboxWebhook {
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
    const messageId = pubSubMessageId(this.world.random);
    return this.world.envelope(name, {
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

  findToken(purchaseToken: string): GooglePurchaseRecord | undefined {
    return this.world.state.purchases.find(
      (p): p is GooglePurchaseRecord => p.platform === 'google' && p.purchaseToken === purchaseToken,
    );
  }

  /** The first token of an upgrade chain, as Attesto resolves it for subject.key (depth ≤ 16). */
  rootTokenOf(purchase: GooglePurchaseRecord): string {
    let current = purchase;
    for (let depth = 0; depth < 16 && current.linkedPurchaseToken; depth++) {
      const previous = this.findToken(current.linkedPurchaseToken);
      if (!previous) return current.linkedPurchaseToken;
      current = previous;
    }
    return current.purchaseToken;
  }
}
