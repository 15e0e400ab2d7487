// Apple's `type` names of the subscription kinds; anything else is a one-time product. Apart from
// apple-product-type.ts so the Apple notification function can read it without the catalog.
export const APPLE_SUBSCRIPTION_TYPES = new Set(['Auto-Renewable Subscription', 'Non-Renewing Subscription']);
