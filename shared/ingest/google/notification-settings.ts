// The environment of the Google endpoint (set by infra/stack.ts from the stage config). A
// missing or malformed setting fails the request with a 500 and a log line naming the variable,
// never with a 401: a configuration mistake must not look like a forged notification.
import { readConfig, requiredSetting } from '../../config';
import * as z from '../../validation';
import type { PubSubPushAuthConfig } from './pubsub-push-auth';

const googleSchema = z.object({
  GOOGLE_PACKAGE_NAME: requiredSetting,
  /** The Audience of the authenticated push subscription (normally the endpoint URL). */
  GOOGLE_PUSH_AUDIENCE: requiredSetting,
  /** The service account the push subscription signs its tokens as. */
  GOOGLE_PUSH_SERVICE_ACCOUNT: z.email(),
  /** Google's key set; another URL only for tests and the local runtime. */
  GOOGLE_JWKS_URL: z.optional(z.url()),
});

export interface GoogleNotificationSettings {
  packageName: string;
  auth: Pick<PubSubPushAuthConfig, 'audience' | 'serviceAccountEmail' | 'jwksUrl'>;
}

export function googleNotificationSettings(env: NodeJS.ProcessEnv = process.env): GoogleNotificationSettings {
  const parsed = readConfig(googleSchema, env);
  return {
    packageName: parsed.GOOGLE_PACKAGE_NAME,
    auth: {
      audience: parsed.GOOGLE_PUSH_AUDIENCE,
      serviceAccountEmail: parsed.GOOGLE_PUSH_SERVICE_ACCOUNT,
      ...(parsed.GOOGLE_JWKS_URL ? { jwksUrl: parsed.GOOGLE_JWKS_URL } : {}),
    },
  };
}
