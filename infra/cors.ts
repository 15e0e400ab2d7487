// The HTTP API's CORS configuration, read by the CDK stack and by the local API emulator alike.
// The SDK runs inside a Capacitor WebView, so its requests are cross-origin: iOS uses
// `capacitor://localhost` (`ionic://localhost` in Ionic apps, whose iOS scheme is `ionic`),
// Android `https://localhost` (or `http://localhost` when cleartext).

export interface CorsSettings {
  allowOrigins: string[];
  allowMethods: Array<'GET' | 'POST'>;
  allowHeaders: string[];
  maxAgeSeconds: number;
}

export const DEFAULT_CORS_ORIGINS = [
  'capacitor://localhost',
  'ionic://localhost',
  'https://localhost',
  'http://localhost',
];

/** `CORS_ORIGINS` is a comma-separated list that replaces the Capacitor defaults. */
export function corsSettings(env: NodeJS.ProcessEnv = process.env): CorsSettings {
  const configured = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  return {
    allowOrigins: configured.length ? configured : [...DEFAULT_CORS_ORIGINS],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['authorization', 'content-type'],
    // WebKit caps preflight caching at 10 minutes; asking for more only misleads.
    maxAgeSeconds: 600,
  };
}
