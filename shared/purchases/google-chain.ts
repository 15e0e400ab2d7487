// The purchase a Google subscription token belongs to: the one keyed by the FIRST token of its
// upgrade chain, as Attesto names it in a webhook's subject.key (README "How store events change
// a purchase"). Each plan change gives a new token whose linkedPurchaseToken names the token it
// replaced. The chain is walked back through the aliases verify and events stored; where a
// replaced token was never seen here (the app skipped verifying it), Google is asked what that
// token replaced in turn, so a chain of any depth lands on the same purchase the webhooks use.
import type { AttestoCallOptions, AttestoClient } from '../attesto/client';
import type { GoogleSubscriptionOk } from '../attesto/schemas';
import { aliasKey, purchaseKey } from '../domain/purchase';

/** Attesto walks at most this many links back; so do we. */
export const MAX_CHAIN_DEPTH = 16;

export interface ChainLookups {
  resolveAlias: (alias: string) => Promise<string | undefined>;
  attesto: AttestoClient;
  packageName: string;
  /** Any subscription id of the app: Attesto's Google verify echoes it and Google ignores it. */
  subscriptionId: string;
  callOptions?: AttestoCallOptions;
}

export interface ChainRoot {
  pk: string;
  /** Aliases for the tokens walked that did not lead anywhere yet: they lead to `pk` from now on. */
  aliases: string[];
}

/** The purchase `replaced` (a linkedPurchaseToken) belongs to. */
export async function googleChainRoot(replaced: string, lookups: ChainLookups): Promise<ChainRoot> {
  const aliases: string[] = [];
  let token = replaced;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const alias = aliasKey('google-token', token);
    const known = await lookups.resolveAlias(alias);
    if (known) return { pk: known, aliases };
    aliases.push(alias);
    const previous = await linkedTokenOf(token, lookups);
    if (!previous) break;
    token = previous;
  }
  return { pk: purchaseKey('google', token), aliases };
}

/** The token `token` replaced; undefined at the chain's start or when Google no longer knows it. */
async function linkedTokenOf(token: string, lookups: ChainLookups): Promise<string | undefined> {
  const result = await lookups.attesto.verifyGoogle(
    {
      packageName: lookups.packageName,
      productId: lookups.subscriptionId,
      purchaseToken: token,
      type: 'subscription',
    },
    lookups.callOptions,
  );
  if (!result.valid) return undefined;
  const linked = (result as GoogleSubscriptionOk).purchase.rawResponse.linkedPurchaseToken;
  return typeof linked === 'string' && linked ? linked : undefined;
}
