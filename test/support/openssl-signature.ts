import { execFileSync } from 'node:child_process';

/**
 * The v1 of an Attesto signature computed by openssl, outside the code under test: HMAC-SHA256
 * keyed with the secret's UTF-8 bytes over `${t}.` + the raw body bytes (contract §3.2).
 */
export function opensslSignature(secret: string, t: number, body: Uint8Array | string): string {
  const payload = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), Buffer.from(body)]);
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: payload }).toString();
  const hex = out.trim().split('= ').pop() ?? '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`openssl gave no HMAC: ${out}`);
  return hex;
}
