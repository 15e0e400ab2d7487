import { notImplemented } from '../../shared/http/not-implemented';

export const handler = notImplemented('verify-google');
