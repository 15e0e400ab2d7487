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

// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in message bodies. The
// local SQS emulator (fauxqs) also refuses everything above U+FFFF, so those rare bodies (an emoji
// in a product name, say) travel as base64 too: local runs and AWS then behave the same.
const NOT_PLAIN_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/u;

/** The raw bytes as an SQS message body: UTF-8 text when it survives the round trip, else base64. */
export function messageBodyOf(raw: Buffer): { body: string; base64: boolean } {
  const text = raw.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(raw) && !NOT_PLAIN_TEXT.test(text))
    return { body: text, base64: false };
  return { body: raw.toString('base64'), base64: true };
}

/**
 * A label (event id, event type) as an SQS string attribute: characters SQS refuses are
 * replaced, and the value is cut to 256 characters without splitting a surrogate pair. Labels
 * come from the sender and only help people and tools; the consumer reads the body.
 */
export function attributeText(value: string): string {
  return Array.from(value.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, '\uFFFD'))
    .slice(0, 256)
    .join('');
}

/** The request body back from a queued message's body and its bodyEncoding attribute, as text. */
export function queuedBodyText(body: string, encoding: string | undefined): string {
  return encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
}
