// The shape of a webhook on the queue, shared by the webhook function (producer), the consumer
// and the DLQ tool. The body is Attesto's raw request body, byte for byte, so the consumer parses
// exactly what was signed; the attributes only label it for people and tools.

/** Message attribute: Attesto's eventId (X-Attesto-Event-Id), when the request named one. */
export const EVENT_ID_ATTRIBUTE = 'eventId';
/** Message attribute: Attesto's event name (X-Attesto-Event), when the request named one. */
export const EVENT_TYPE_ATTRIBUTE = 'eventType';
/**
 * Message attribute present (value `base64`) when the signed body could not travel as SQS text
 * (invalid UTF-8 or characters SQS refuses): the body is then the base64 of the raw bytes.
 */
export const BODY_ENCODING_ATTRIBUTE = 'bodyEncoding';

// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in message bodies.
const SQS_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The raw bytes as an SQS message body: UTF-8 text when it survives the round trip, else base64. */
export function messageBodyOf(raw: Buffer): { body: string; base64: boolean } {
  const text = raw.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(raw) && !SQS_FORBIDDEN.test(text))
    return { body: text, base64: false };
  return { body: raw.toString('base64'), base64: true };
}

/** The signed body text back from a queued message. */
export function rawBodyOf(body: string, encoding: string | undefined): string {
  return encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
}
