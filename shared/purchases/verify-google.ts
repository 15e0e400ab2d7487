// POST verify/google. The token's alias is looked up while Attesto answers, so a token seen
// before costs no extra round trip; only a first sight of an upgraded token adds one lookup.

import { ConfigError } from '../config';
import { aliasKey } from '../domain/purchase';
import { countVerification } from '../observability/metrics';
import { attestoFor } from './attesto-call-limit';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import type { GoogleVerifyInput } from './request-schemas';
import {
  answerVerify,
  attestoGoogleRequest,
  bindingResolver,
  googleProductType,
  prepareGoogle,
  rejection,
  type VerifyAnswer,
} from './verification';

/**
 * The package to verify under: the request's when it names one (it must be the app's), else the
 * configured one — the Capacitor 7/8 SDK never sends it (contract §6.2).
 */
export function packageNameFor(
  requested: string | undefined,
  deps: PurchaseDeps,
): { packageName: string } | ReturnType<typeof rejection> {
  const configured = deps.settings().googlePackageName;
  if (requested && configured && requested !== configured) {
    return rejection('PACKAGE_NAME_MISMATCH', `The purchase belongs to another app (${requested})`);
  }
  const packageName = requested ?? configured;
  if (!packageName) throw new ConfigError('Invalid configuration: GOOGLE_PACKAGE_NAME is not set');
  return { packageName };
}

export async function verifyGooglePurchase(
  userId: string,
  input: GoogleVerifyInput,
  options: { deadline?: number } = {},
  deps: PurchaseDeps = defaultDeps(),
): Promise<VerifyAnswer> {
  const pkg = packageNameFor(input.packageName, deps);
  if ('rejection' in pkg) {
    countVerification('google', pkg.rejection);
    return pkg.rejection;
  }
  const type = googleProductType(input.productId, input.type);
  const binding = bindingResolver(userId, deps);
  const ownAlias = deps.store.resolveAlias(aliasKey('google-token', input.purchaseToken));
  // Settled here so a failing lookup never becomes an unhandled rejection while Attesto answers.
  ownAlias.catch(() => undefined);
  const attesto = attestoFor(userId, deps);
  const callOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
  const result = await attesto.verifyGoogle(
    attestoGoogleRequest({ ...input, packageName: pkg.packageName, type }),
    callOptions,
  );
  const prepared = await prepareGoogle(
    result,
    { productId: input.productId, type, packageName: pkg.packageName },
    ownAlias,
    { attesto, callOptions },
    deps,
  );
  const answer = await answerVerify(prepared, userId, binding, deps);
  countVerification('google', answer);
  return answer;
}
