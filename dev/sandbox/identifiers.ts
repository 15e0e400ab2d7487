import { randomBytes } from 'node:crypto';
import type { SeededRandom } from './seeded-random';

// Identifier formats as the stores and Attesto print them, so a backend's parsing and storage
// meet the same shapes locally as in production.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';

function ulidTime(timeMs: number): string {
  let time = Math.max(0, Math.floor(timeMs));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[time % 32] + out;
    time = Math.floor(time / 32);
  }
  return out;
}

/** A ULID (26 Crockford base32 characters): 10 of time, 16 drawn from `random`. */
export function ulid(random: SeededRandom, timeMs: number): string {
  return ulidTime(timeMs) + random.chars(CROCKFORD, 16);
}

/** A ULID from the OS random source: request ids need no replay. */
export function freshUlid(timeMs: number): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const byte of bytes) out += CROCKFORD[byte % 32];
  return ulidTime(timeMs) + out;
}

/** A UUID v4 (RFC 4122 variant bits set), e.g. Apple's notificationUUID or an appAccountToken. */
export function uuidV4(random: SeededRandom): string {
  const hex = random.chars(HEX, 32).split('');
  hex[12] = '4';
  hex[16] = HEX[(Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8] ?? '8';
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** Apple transaction ids are 16-digit decimal strings starting with 2000000 (sandbox and production alike). */
export const APPLE_ID_FLOOR = 2_000_000_000_000_000;
const APPLE_ID_CEILING = 2_000_000_999_999_999;

/** Where a world's Apple id sequence starts: somewhere in the first tenth of the 2000000… range. */
export function firstAppleId(random: SeededRandom): number {
  return APPLE_ID_FLOOR + 100_000_000 + random.int(100_000_000);
}

/**
 * The next Apple id after `last`: strictly greater, by a random gap of 1..1000 (Apple's counter is
 * shared by every app, so ids are increasing but never consecutive). Safe integers throughout.
 */
export function appleIdAfter(last: number, random: SeededRandom): number {
  const next = last + 1 + random.int(1000);
  if (next > APPLE_ID_CEILING) throw new Error('The sandbox has used up its Apple transaction ids');
  return next;
}

/** Google purchase tokens are long opaque strings: letters, a dot, then base64url. */
export function googlePurchaseToken(random: SeededRandom): string {
  return `${random.chars(LOWER, 24)}.AO-J1O${random.chars(BASE64URL, 130)}`;
}

/** `GPA.3312-4567-8901-23456`; renewals append `..0`, `..1`, … to the first order id. */
export function googleOrderId(random: SeededRandom): string {
  return `GPA.${random.chars(DIGITS, 4)}-${random.chars(DIGITS, 4)}-${random.chars(DIGITS, 4)}-${random.chars(DIGITS, 5)}`;
}

/** Pub/Sub message ids are decimal strings of 16 or 17 digits. */
export function pubSubMessageId(random: SeededRandom): string {
  return `${1 + random.int(9)}${random.chars(DIGITS, 15)}`;
}
