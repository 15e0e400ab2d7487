// Apple's root certificates for the direct App Store notifications: read at synth from the files
// (or base64) the stage names, checked, and handed to the function as one environment variable,
// so a wrong file fails synth instead of refusing every notification after deploy.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppleNotificationSettings } from './schema';
import { StageConfigError } from './stage-config-error';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Lambda's environment holds 4 KiB in all; Apple Root CA - G3 takes under 1 KiB as base64. */
const MAX_ROOT_CERTIFICATES_CHARS = 3_000;

/**
 * The Apple root certificates of the stage as the function reads them (APPLE_ROOT_CERTIFICATES):
 * base64 DER, comma-separated. Each setting is a file (DER or PEM, relative to the project root)
 * or base64 DER; each must be a CA certificate valid today.
 */
export function appleRootCertificatesValue(
  settings: Pick<AppleNotificationSettings, 'rootCertificates'>,
  options: { projectRoot?: string; now?: Date } = {},
): string {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const now = options.now ?? new Date();
  const values = settings.rootCertificates.flatMap((setting) => {
    const path = isAbsolute(setting) ? setting : join(root, setting);
    let ders: Buffer[];
    if (existsSync(path)) {
      const bytes = readFileSync(path);
      const text = bytes.toString('latin1');
      ders = text.includes('-----BEGIN CERTIFICATE-----')
        ? [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
            Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'),
          )
        : [bytes];
    } else if (/^[A-Za-z0-9+/=\s]{100,}$/.test(setting)) {
      ders = [Buffer.from(setting.replace(/\s+/g, ''), 'base64')];
    } else {
      throw new StageConfigError(
        `notifications.apple.rootCertificates: ${setting} is neither a file (looked for ${path}) nor base64 DER`,
      );
    }
    return ders.map((der) => {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(der);
      } catch {
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not an X.509 certificate`,
        );
      }
      if (!certificate.ca)
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not a CA certificate`,
        );
      if (new Date(certificate.validTo) < now || new Date(certificate.validFrom) > now)
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not valid now (${certificate.validFrom} – ${certificate.validTo})`,
        );
      return Buffer.from(certificate.raw).toString('base64');
    });
  });
  const value = values.join(',');
  if (value.length > MAX_ROOT_CERTIFICATES_CHARS)
    throw new StageConfigError(
      `notifications.apple.rootCertificates: ${values.length} certificates take ${value.length} characters; Lambda's environment allows 4 KiB in all. Configure Apple Root CA - G3 only.`,
    );
  return value;
}
