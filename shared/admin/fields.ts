// The operator API's request fields: trimmed, non-empty text of a bounded length.
import * as z from '../validation';

export const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
