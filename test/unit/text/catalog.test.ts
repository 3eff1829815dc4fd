/**
 * The catalog's consistency: every Kratos id (text/id.go) is named and has an entry with its type and context keys;
 * every text renders from the keys it declares. Exact wording, range by range, is pinned in message.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../../src/text/catalog.ts';
import { MessageId, isMessageId, messageIdName, type MessageIdName } from '../../../src/text/ids.ts';
import { hasText, message } from '../../../src/text/message.ts';

const entries = Object.entries(CATALOG).map(([id, entry]) => ({ id: Number(id) as MessageId, ...entry }));

describe('ids (text/id.go)', () => {
  it('names all 179 of Kratos\'s ids, every range root included, and only those', () => {
    expect(Object.keys(MessageId)).toHaveLength(179);
    for (const root of [1010000, 1020000, 1030000, 1040000, 1050000, 1060000, 1070000, 1080000, 4000000, 4010000, 4040000, 4050000, 4060000, 4070000, 5000000]) {
      expect(Object.values(MessageId)).toContain(root);
    }
    expect(new Set(Object.values(MessageId)).size).toBe(179);
  });

  it('is frozen and resolves names both ways', () => {
    expect(Object.isFrozen(MessageId)).toBe(true);
    expect(MessageId.ErrorValidationInvalidCredentials).toBe(4000006);
    expect(MessageId.ErrorValidateionRegistrationRetrySuccess).toBe(4040002); // Kratos's spelling
    expect(messageIdName(4000006)).toBe('ErrorValidationInvalidCredentials');
    expect(messageIdName(4000999)).toBeUndefined();
    expect(isMessageId(1070018)).toBe(true);
    expect(isMessageId(1070019)).toBe(false);
  });
});

describe('catalog (text/message_*.go)', () => {
  it('has an entry for exactly the named ids', () => {
    expect(entries.map((e) => e.id).sort((a, b) => a - b)).toEqual(Object.values(MessageId).sort((a, b) => a - b));
  });

  it('renders every text from a context holding the keys it declares, and keeps that context', () => {
    const rendered = entries.filter((e) => e.text !== null);
    expect(rendered.length).toBeGreaterThan(150);
    for (const e of rendered) {
      const context: Record<string, unknown> = {};
      for (const key of e.context ?? []) context[key] = sampleValue(key);
      const built = message(e.id, context, { now: new Date('2020-01-01T01:00:00Z') });
      expect(built.text, `${e.id} ${messageIdName(e.id)}`).not.toBe('');
      expect(built.type).toBe(e.type);
      if (Object.keys(context).length > 0) expect(built.context).toEqual(context);
    }
  });

  it('marks the ids Kratos declares but never renders, and message() refuses them', () => {
    const declaredOnly = entries.filter((e) => e.text === null);
    expect(declaredOnly.map((e) => e.id)).toContain(1070000);
    for (const e of declaredOnly) {
      expect(hasText(e.id)).toBe(false);
      expect(() => message(e.id), `${e.id}`).toThrow(/no text/);
    }
  });

  it('types the entries as Kratos\'s constructors do, not by range', () => {
    const successes = entries.filter((e) => e.type === 'success').map((e) => messageIdName(e.id) as MessageIdName).sort();
    expect(successes).toEqual(['InfoSelfServiceRecoverySuccessful', 'InfoSelfServiceSettingsUpdateSuccess', 'InfoSelfServiceVerificationPhoneSuccessful', 'InfoSelfServiceVerificationSuccessful']);
  });
});

function sampleValue(key: string): unknown {
  if (key.endsWith('_unix')) return 1577836800;
  if (/(_at|At)$/.test(key)) return '2020-01-01T00:00:00Z';
  if (/^(min|max)_|_length$|_items$|^index_/.test(key)) return 3;
  if (['minimum', 'maximum', 'actual', 'base', 'breaches'].includes(key)) return 7;
  if (['allowed_types', 'available_credential_types', 'available_oidc_providers', 'available_providers'].includes(key)) return ['x'];
  if (key === 'secrets') return [{ id: 1050009, text: 'abc', type: 'info', context: { secret: 'abc' } }];
  return `v-${key}`;
}
