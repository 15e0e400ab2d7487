import { type PurchaseView, purchaseView } from './purchase-view';
import { SandboxError } from './sandbox-error';
import type { TrafficKnobs } from './traffic-knobs';
import {
  buildWebhookRequest,
  type DeliveryResult,
  deliverWebhook,
  type WebhookRequest,
} from './webhook-delivery';
import type { ActionOptions, BuyInput, LifecycleAction, SandboxWorld, StepResult } from './world';
import { saveWorldState } from './world-file';
import type { PurchaseRecord, SandboxWebhook } from './world-types';

// What the control API and in-process callers (tests, the local runtime) do to the sandbox: change
// the world, save it, and deliver the webhooks each change produced.

export interface DeliveryChoice {
  /** false: build and record the webhooks but do not send them (the caller delivers them itself). */
  deliver?: boolean;
  /** Overrides the sandbox's webhookUrl for this call. */
  webhookUrl?: string;
}

export interface ControlResult {
  purchase: PurchaseView;
  created: PurchaseView | null;
  webhooks: SandboxWebhook[];
  /** One per webhook sent; empty when nothing was sent (deliver:false, or no webhook URL). */
  deliveries: DeliveryResult[];
}

export interface ControllerOptions {
  world: SandboxWorld;
  knobs: TrafficKnobs;
  dataFile?: string;
  webhookSecret: string;
  webhookUrl?: string;
  version: string;
  now: () => number;
  webhookTimeoutMs?: number;
}

export class SandboxController {
  readonly world: SandboxWorld;
  webhookUrl: string | undefined;
  private readonly options: ControllerOptions;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.world = options.world;
    this.webhookUrl = options.webhookUrl;
  }

  async buy(input: BuyInput & DeliveryChoice): Promise<ControlResult> {
    return this.apply(this.world.buy(input, this.options.now()), input);
  }

  async act(
    ref: string,
    action: LifecycleAction,
    options: ActionOptions & DeliveryChoice = {},
  ): Promise<ControlResult> {
    return this.apply(this.world.act(ref, action, options, this.options.now()), options);
  }

  purchases(): PurchaseView[] {
    return this.world.state.purchases.map((p) => this.view(p));
  }

  purchase(ref: string): PurchaseView {
    return this.view(this.world.get(ref));
  }

  /** Webhooks produced so far, oldest first; for one purchase when `ref` is given. */
  webhooks(ref?: string): SandboxWebhook[] {
    const all = this.world.state.webhooks;
    if (!ref) return [...all];
    const p = this.world.get(ref);
    const key = p.platform === 'apple' ? p.originalTransactionId : this.world.rootTokenOf(p);
    const token = p.platform === 'google' ? p.purchaseToken : null;
    return all.filter((w) => {
      if (w.subject?.key === key) return true;
      const voided = (w.data.voidedPurchaseNotification as { purchaseToken?: string } | undefined)
        ?.purchaseToken;
      return token !== null && voided === token;
    });
  }

  webhook(eventId: string): SandboxWebhook {
    const found = this.world.state.webhooks.find((w) => w.eventId === eventId);
    if (!found) throw new SandboxError('UNKNOWN_PURCHASE', `No sandbox webhook has eventId "${eventId}"`);
    return found;
  }

  /** The exact request Attesto would send for a webhook, signed at `nowSeconds`, without sending it. */
  buildWebhookRequest(
    webhook: SandboxWebhook | string,
    nowSeconds = this.options.now() / 1000,
  ): WebhookRequest {
    const w = typeof webhook === 'string' ? this.webhook(webhook) : webhook;
    return buildWebhookRequest(w, this.options.webhookSecret, nowSeconds, this.options.version);
  }

  /** Sends webhooks one after another (same eventId on a re-send, fresh signature each time). */
  async deliver(webhooks: readonly SandboxWebhook[], url = this.webhookUrl): Promise<DeliveryResult[]> {
    if (!url)
      throw new SandboxError(
        'INVALID_INPUT',
        'No webhook URL: start the sandbox with webhookUrl or pass one',
      );
    const results: DeliveryResult[] = [];
    for (const webhook of webhooks) {
      const result = await deliverWebhook(webhook, {
        url,
        secret: this.options.webhookSecret,
        version: this.options.version,
        timeoutMs: this.options.webhookTimeoutMs ?? 10_000,
        nowSeconds: () => this.options.now() / 1000,
      });
      this.options.knobs.countDelivery(result.delivered);
      results.push(result);
    }
    return results;
  }

  persist(): void {
    if (this.options.dataFile) saveWorldState(this.options.dataFile, this.world.state);
  }

  private async apply(step: StepResult, choice: DeliveryChoice): Promise<ControlResult> {
    this.persist();
    const url = choice.webhookUrl ?? this.webhookUrl;
    const deliveries = choice.deliver !== false && url ? await this.deliver(step.webhooks, url) : [];
    return {
      purchase: this.view(step.purchase),
      created: step.created ? this.view(step.created) : null,
      webhooks: step.webhooks,
      deliveries,
    };
  }

  private view(record: PurchaseRecord): PurchaseView {
    return purchaseView(record, (r) => (r.platform === 'google' ? this.world.rootTokenOf(r) : r.id));
  }
}
