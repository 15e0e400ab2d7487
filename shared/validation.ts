// The schema library of the functions: zod's tree-shakable `zod/mini` API, with zod's English
// messages. The classic `zod` API is not tree-shakable and would put ~450 KB in every bundle;
// zod/mini brings only the checks a function uses. Same parser, same issues, same messages.
// Import it as a namespace (`import * as z from '../validation'`): a bundler then keeps only
// what is used, which it cannot do once the namespace object itself is passed around.
import { config } from 'zod/mini';
import type { $ZodError, $ZodType, input, output } from 'zod/v4/core';
import { en } from 'zod/v4/locales';

config(en());

export * from 'zod/mini';
export type { $RefinementCtx as RefinementContext } from 'zod/v4/core';
export { $ZodError as ZodErrorBase } from 'zod/v4/core';
/** Any zod schema, classic or mini. */
export type AnySchema = $ZodType;
export type Output<S extends AnySchema> = output<S>;
export type Input<S extends AnySchema> = input<S>;
export type SchemaError = $ZodError;
