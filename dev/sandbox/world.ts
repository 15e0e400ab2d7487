import type { AppleJwsSigner } from './apple-jws-signer';
import { ulid } from './identifiers';
import { SandboxError } from './sandbox-error';
import { SeededRandom } from './seeded-random';
import { AppleActions } from './world-apple';
import {
  type ActionOptions,
  type BuyInput,
  checkAppUserId,
  type LifecycleAction,
  type StepResult,
  type WorldConfig,
  WorldCore,
} from './world-core';
import { GoogleActions } from './world-google';
import type {
  ApplePurchaseRecord,
  AppleTransactionRecord,
  GooglePurchaseRecord,
  PurchaseRecord,
  WorldState,
} from './world-types';

// The sandbox's model of the two stores: purchases and what happens to them. No I/O and no clock:
// every operation takes `now`, and store event times are forced to increase (a backend orders
// events by them), so the same seed and the same calls replay the same world.

export {
  type ActionOptions,
  type BuyInput,
  LIFECYCLE_ACTIONS,
  type LifecycleAction,
  type Platform,
  type StepResult,
  type WorldConfig,
} from './world-core';

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
  private readonly core: WorldCore;
  private readonly apple: AppleActions;
  private readonly google: GoogleActions;

  constructor(state: WorldState, config: WorldConfig, signer: AppleJwsSigner) {
    this.state = state;
    this.core = new WorldCore(state, config);
    this.apple = new AppleActions(this.core, signer);
    this.google = new GoogleActions(this.core);
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
    return this.google.findToken(purchaseToken);
  }

  /** The first token of an upgrade chain, as Attesto resolves it for subject.key (depth ≤ 16). */
  rootTokenOf(purchase: GooglePurchaseRecord): string {
    return this.google.rootTokenOf(purchase);
  }

  signAppleTransaction(
    purchase: ApplePurchaseRecord,
    transaction: AppleTransactionRecord,
    signedDate: number,
  ) {
    return this.apple.signTransaction(purchase, transaction, signedDate);
  }

  // ─── Purchases ───────────────────────────────────────────────────────────

  buy(input: BuyInput, now: number): StepResult {
    const product = this.core.resolveProduct(input.productId, input.type);
    const appUserId = checkAppUserId(input.appUserId);
    if (input.periodMs !== undefined && !(Number.isInteger(input.periodMs) && input.periodMs >= 1000)) {
      throw new SandboxError('INVALID_INPUT', 'periodMs must be an integer of at least 1000');
    }
    const t = this.core.tick(now);
    const purchase =
      input.platform === 'apple'
        ? this.apple.newPurchase(product, appUserId, t, input)
        : this.google.newPurchase(product, appUserId, t, input, null);
    this.state.purchases.push(purchase);
    const webhook =
      purchase.platform === 'apple'
        ? this.apple.purchasedWebhook(purchase, t)
        : this.google.purchasedWebhook(purchase, t);
    return this.core.finish(purchase, null, [webhook]);
  }

  act(ref: string, action: LifecycleAction, options: ActionOptions, now: number): StepResult {
    const purchase = this.get(ref);
    return purchase.platform === 'apple'
      ? this.apple.act(purchase, action, options, now)
      : this.google.act(purchase, action, options, now);
  }
}
