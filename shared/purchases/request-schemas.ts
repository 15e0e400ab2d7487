// The SDK's request bodies (contract §1.4, §1.5, §1.8). Both the shape the SDK's code sends
// ({transactionId | purchaseToken, type}) and the one its docs page shows ({platform, token,
// productType}) are accepted and normalised to one shape; unknown fields are ignored.
import type { ProductType } from '../domain/purchase';
import type { RefinementContext } from '../validation';
import * as z from '../validation';

const productTypeSchema = z.enum(['subscription', 'product', 'consumable']);

// In a /u regex `\p{Cs}` matches only unpaired surrogate halves; `\p{Cc}` is C0, DEL and C1.
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL_CHARACTER = /\p{Cc}/u;
/**
 * A store's id (and the app's product ids) are plain text: an id with a lone surrogate or a
 * control character cannot be a real one, may not survive DynamoDB or Attesto, and is answered
 * with a 400 naming the field instead of being sent on.
 */
function idText(maxLength: number) {
  return z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(maxLength),
    z.refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (it has a lone surrogate)'),
    z.refine((s) => !CONTROL_CHARACTER.test(s), 'must not contain control characters'),
  );
}

/**
 * A purchase token ends up in DynamoDB keys (`alias#google-token#<token>`, at most 2048 bytes in
 * all). Attesto accepts 4096 characters, but a token that cannot be a key could never be
 * recorded, and its lookup would fail as a server error: refuse it up front. Real Play tokens
 * are a few hundred ASCII characters.
 */
const MAX_PURCHASE_TOKEN_BYTES = 2000;

const productIdSchema = idText(200);
// Attesto's own limits (contract §2.2, §2.3), so an over-long id is a 400 naming our field.
const transactionIdSchema = idText(128);
const purchaseTokenSchema = idText(4096).check(
  z.refine(
    (s) => Buffer.byteLength(s, 'utf8') <= MAX_PURCHASE_TOKEN_BYTES,
    `must be at most ${MAX_PURCHASE_TOKEN_BYTES} bytes (UTF-8)`,
  ),
);
const packageNameSchema = idText(200);

export interface AppleVerifyInput {
  productId: string;
  transactionId: string;
  type: ProductType | undefined;
}

export interface GoogleVerifyInput {
  productId: string;
  purchaseToken: string;
  packageName: string | undefined;
  type: ProductType | undefined;
}

function requireOne(ctx: RefinementContext, value: unknown, path: string, message: string): void {
  if (value === undefined) ctx.addIssue({ code: 'custom', path: [path], message });
}

export const appleVerifyBodySchema = z.pipe(
  z
    .object({
      productId: productIdSchema,
      transactionId: z.optional(transactionIdSchema),
      token: z.optional(transactionIdSchema),
      type: z.optional(productTypeSchema),
      productType: z.optional(productTypeSchema),
      platform: z.optional(z.literal('apple')),
    })
    .check(
      z.superRefine((b, ctx) =>
        requireOne(ctx, b.transactionId ?? b.token, 'transactionId', 'transactionId (or token) is required'),
      ),
    ),
  z.transform(
    (b): AppleVerifyInput => ({
      productId: b.productId,
      transactionId: (b.transactionId ?? b.token) as string,
      type: b.type ?? b.productType,
    }),
  ),
);

export const googleVerifyBodySchema = z.pipe(
  z
    .object({
      productId: productIdSchema,
      purchaseToken: z.optional(purchaseTokenSchema),
      token: z.optional(purchaseTokenSchema),
      packageName: z.optional(packageNameSchema),
      type: z.optional(productTypeSchema),
      productType: z.optional(productTypeSchema),
      platform: z.optional(z.literal('google')),
    })
    .check(
      z.superRefine((b, ctx) =>
        requireOne(ctx, b.purchaseToken ?? b.token, 'purchaseToken', 'purchaseToken (or token) is required'),
      ),
    ),
  z.transform(
    (b): GoogleVerifyInput => ({
      productId: b.productId,
      purchaseToken: (b.purchaseToken ?? b.token) as string,
      packageName: b.packageName,
      type: b.type ?? b.productType,
    }),
  ),
);

/** The most entries one restore may carry; an iOS history of a long-time subscriber stays far below. */
const MAX_RESTORE_ENTRIES = 500;

/**
 * The restore body. Only the envelope is strict (a malformed envelope is the caller's bug and
 * gets a 400); each entry is checked on its own by `restoreEntryOf`, and a bad one is skipped.
 */
export const restoreBodySchema = z.object({
  transactions: z
    .array(z.unknown())
    .check(z.maxLength(MAX_RESTORE_ENTRIES, `at most ${MAX_RESTORE_ENTRIES} transactions per restore`)),
});

export type RestoreEntry =
  | { platform: 'apple'; productId: string; transactionId: string }
  | {
      platform: 'google';
      productId: string;
      purchaseToken: string;
      packageName: string | undefined;
      type: ProductType | undefined;
    };

const restoreEntrySchema = z.union([
  z.pipe(
    z
      .object({
        platform: z.literal('apple'),
        productId: productIdSchema,
        transactionId: z.optional(transactionIdSchema),
        token: z.optional(transactionIdSchema),
      })
      .check(
        z.superRefine((e, ctx) => requireOne(ctx, e.transactionId ?? e.token, 'transactionId', 'required')),
      ),
    z.transform(
      (e): RestoreEntry => ({
        platform: 'apple',
        productId: e.productId,
        transactionId: (e.transactionId ?? e.token) as string,
      }),
    ),
  ),
  z.pipe(
    z
      .object({
        platform: z.literal('google'),
        productId: productIdSchema,
        purchaseToken: z.optional(purchaseTokenSchema),
        token: z.optional(purchaseTokenSchema),
        packageName: z.optional(packageNameSchema),
        productType: z.optional(productTypeSchema),
        type: z.optional(productTypeSchema),
      })
      .check(
        z.superRefine((e, ctx) => requireOne(ctx, e.purchaseToken ?? e.token, 'purchaseToken', 'required')),
      ),
    z.transform(
      (e): RestoreEntry => ({
        platform: 'google',
        productId: e.productId,
        purchaseToken: (e.purchaseToken ?? e.token) as string,
        packageName: e.packageName,
        type: e.type ?? e.productType,
      }),
    ),
  ),
]);

/** One restore entry in either shape, or the reason it is skipped. */
export function restoreEntryOf(value: unknown): { entry: RestoreEntry } | { problem: string } {
  const parsed = restoreEntrySchema.safeParse(value);
  if (parsed.success) return { entry: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: issue ? `${issue.path.join('.') || '(entry)'}: ${issue.message}` : 'invalid entry' };
}
