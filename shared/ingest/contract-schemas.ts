// What the ingest endpoints answer their senders (Attesto, Apple, Pub/Sub), and the one body the
// Apple endpoint reads by hand, as schemas: docs/openapi.json is generated from them and
// ./http-edge.ts is typed by them.
import * as z from '../validation';

export const receivedSchema = z.object({ received: z.literal(true) });

/** Deliberately terse: a sender learns nothing about which check its request failed. */
export const ingestErrorSchema = z.object({ error: z.string(), message: z.optional(z.string()) });

export type IngestAnswerBody = z.Output<typeof receivedSchema> | z.Output<typeof ingestErrorSchema>;

/**
 * App Store Server Notifications V2. The endpoint reads `signedPayload` without a schema library,
 * which keeps zod out of its bundle; this describes the same shape for the API document.
 */
export const appleNotificationBodySchema = z.object({
  /** The JWS Apple signed: the notification, verified up to Apple's root certificate. */
  signedPayload: z.string().check(z.minLength(1)),
});
