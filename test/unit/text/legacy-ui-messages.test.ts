/** src/ui/messages.ts keeps its API and takes every text and type from the catalog in src/text/. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageId } from '../../../src/text/ids.ts';
import { message } from '../../../src/text/message.ts';
import { hasMessage, messageText, messageType, uiText } from '../../../src/ui/messages.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('src/ui/messages.ts over src/text/', () => {
  it('knows every id Kratos renders, including those it used to miss', () => {
    for (const id of [4000031, 4000032, 4000034, 4010002, 4010003, 4010004, 4010005, 4010006, 1040008]) {
      expect(hasMessage(id), `${id}`).toBe(true);
      expect(messageText(id, { min_length: 8, actual_length: 3, breaches: 1 }), `${id}`).not.toBe('');
    }
    expect(uiText(4010002)).toEqual({ id: 4010002, type: 'error', text: 'Could not find a strategy to log you in with. Did you fill out the form correctly?' });
    expect(hasMessage(MessageId.InfoSelfServiceLoginRoot)).toBe(false);
    expect(hasMessage(4000999)).toBe(false);
  });

  it('renders the same text and type as message()', () => {
    const context = { min_length: 8, actual_length: 3 };
    expect(uiText(4000032, context)).toEqual(message(MessageId.ErrorValidationPasswordMinLength, context));
    expect(uiText(1050001)).toEqual(message(MessageId.InfoSelfServiceSettingsUpdateSuccess));
  });

  it('types ids as Kratos does, and unknown numbers by range', () => {
    expect(messageType(1050001)).toBe('success');
    expect(messageType(1080002)).toBe('success');
    expect(messageType(1070004)).toBe('info');
    expect(messageType(4000999)).toBe('error');
    expect(messageType(1099999)).toBe('info');
  });

  it('keeps its fallbacks and overrides: unknown ids use the reason, type and text can be given', () => {
    expect(messageText(9999999, { reason: 'fallback' })).toBe('fallback');
    expect(messageText(MessageId.ErrorValidation)).toBe('');
    expect(messageText(4000002)).toBe('Property  is missing.');
    expect(uiText(1060001, undefined, 'success', 'custom')).toEqual({ id: 1060001, text: 'custom', type: 'success' });
  });

  it('keeps the text of idflow\'s 4000004 for a failed format (Kratos sends 4000040 instead)', () => {
    expect(messageText(4000004, { format: 'email', value: 'foo' })).toBe('"foo" is not valid "email"');
    expect(messageText(4000004, { pattern: '^a$' })).toBe('does not match pattern "^a$"');
  });

  it('renders clock-based texts against the current time', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2020-01-01T00:02:00Z'));
    expect(messageText(4010001, { expired_at: '2020-01-01T00:00:00Z' })).toBe('The login flow expired 2.00 minutes ago, please try again.');
  });
});
