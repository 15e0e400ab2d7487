// The body of every error answer the one mapping (./response.ts) sends, as a schema: the API
// contract (docs/openapi.json) is generated from it, and the mapping is typed by it.
import * as z from '../validation';

export const fieldIssueSchema = z.object({
  /** The bad field, dotted (`transactions.3.productId`), or `(body)` for the body as a whole. */
  path: z.string(),
  message: z.string(),
});

export const errorBodySchema = z.object({
  /** A stable code the app can branch on (contract §1.12). */
  error: z.string(),
  message: z.string(),
  /** One entry per bad field of a 400. */
  issues: z.optional(z.array(fieldIssueSchema)),
  /** Only on a 500: the id to quote when asking for the logs. */
  requestId: z.optional(z.string()),
});

export type ErrorBody = z.Output<typeof errorBodySchema>;
