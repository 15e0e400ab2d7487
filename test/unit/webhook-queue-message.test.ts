import { describe, expect, it } from 'vitest';
import { attributeText } from '../../shared/ingest/queue-message';

describe('attributeText', () => {
  it('replaces characters SQS refuses in attributes', () => {
    expect(attributeText('evt_\u0000\uD800x')).toBe('evt_\uFFFD\uFFFDx');
    expect(attributeText('google_🪙')).toBe('google_\uFFFD');
  });

  it('cuts at 256 characters without splitting a surrogate pair', () => {
    const cut = attributeText(`${'a'.repeat(255)}é${'b'.repeat(10)}`);
    expect(Array.from(cut)).toHaveLength(256);
    expect(cut.endsWith('é')).toBe(true);
    expect(attributeText('x'.repeat(300))).toHaveLength(256);
  });
});
