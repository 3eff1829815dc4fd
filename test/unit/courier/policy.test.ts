import { describe, expect, it } from 'vitest';
import { backoffDelay, nominalDelay, retryHorizonMs, shouldAbandon, type RetryPolicy } from '../../../src/courier/backoff.ts';
import { isValidRecipient } from '../../../src/courier/recipient.ts';
import { Redactor, scrubAddress } from '../../../src/courier/redact.ts';
import { parseSmtpUri, SmtpConfigError } from '../../../src/courier/transports/smtp.ts';

const DEFAULTS: RetryPolicy = { initialMs: 1000, maxMs: 3_600_000, retries: 5, minAgeMs: 24 * 3_600_000 };

describe('courier retry policy', () => {
  it('doubles from 1 s up to 1 h', () => {
    expect(Array.from({ length: 14 }, (_, i) => nominalDelay(DEFAULTS, i + 1) / 1000)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]);
    expect(nominalDelay(DEFAULTS, 10_000)).toBe(3_600_000);
  });

  it('adds 0 to 20 % jitter, never less than the nominal delay', () => {
    expect(backoffDelay(DEFAULTS, 3, () => 0)).toBe(4000);
    expect(backoffDelay(DEFAULTS, 3, () => 0.999999)).toBe(4800);
  });

  it('abandons only when both the retry count and the minimum age are spent', () => {
    expect(shouldAbandon(DEFAULTS, 6, 31_000)).toBe(false);
    expect(shouldAbandon(DEFAULTS, 40, 24 * 3_600_000 - 1)).toBe(false);
    expect(shouldAbandon(DEFAULTS, 6, 24 * 3_600_000)).toBe(true);
    expect(shouldAbandon(DEFAULTS, 5, 48 * 3_600_000)).toBe(false);
    expect(shouldAbandon({ ...DEFAULTS, minAgeMs: 0 }, 6, 31_000)).toBe(true);
  });

  it('keeps failing mail for about a day with the defaults (Kratos gave up after seconds)', () => {
    expect(retryHorizonMs(DEFAULTS) / 3_600_000).toBeCloseTo(24.14, 1);
    expect(retryHorizonMs({ ...DEFAULTS, minAgeMs: 0 })).toBe(31_000);
  });
});

describe('courier recipients', () => {
  it('accepts plain addresses only', () => {
    for (const ok of ['a@example.com', "o'brien+x@example.co.uk", 'jörg@bücher.example', 'x@localhost']) expect(isValidRecipient(ok), ok).toBe(true);
    for (const bad of ['"a@b"@example.com', 'a@b.com,c@d.com', 'A <a@b.com>', 'a@b.com\r\n', 'a(b)@c.com', 'a@[1.2.3.4]', 'a@b..com', 'a@', 42, null]) {
      expect(isValidRecipient(bad), String(bad)).toBe(false);
    }
  });
});

describe('courier SMTP connection URI', () => {
  it('requires STARTTLS on smtp:// unless disabled, uses implicit TLS on smtps://', () => {
    expect(parseSmtpUri('smtp://user:p%40ss@mail.example.com/')).toMatchObject({ secure: false, port: 587, startTls: 'required', user: 'user', password: 'p@ss', skipSslVerify: false });
    expect(parseSmtpUri('smtp://mail.example.com:25/?disable_starttls=true')).toMatchObject({ port: 25, startTls: 'off' });
    expect(parseSmtpUri('smtps://mail.example.com/?skip_ssl_verify=true&server_name=mx.example.com')).toMatchObject({ secure: true, port: 465, startTls: 'required', skipSslVerify: true, serverName: 'mx.example.com' });
    expect(() => parseSmtpUri('smtp://mail.example.com/?disable_starttls=maybe')).toThrow(SmtpConfigError);
    expect(() => parseSmtpUri('http://mail.example.com/')).toThrow(SmtpConfigError);
  });

  it('redacts credentials in every form, and URLs\' user-info', () => {
    const r = new Redactor(['s3cr3t/pw', '\u0000u\u0000s3cr3t/pw']);
    const text = `failed smtp://u:s3cr3t%2Fpw@host/ with s3cr3t/pw and ${Buffer.from('s3cr3t/pw').toString('base64')} and ${Buffer.from('\u0000u\u0000s3cr3t/pw').toString('base64')}`;
    const out = r.redact(text);
    expect(out).not.toMatch(/s3cr3t|czNjcjN0/);
    expect(out).toContain('smtp://[redacted]@host/');
    expect(scrubAddress('550 <Bob@Example.com> unknown; bob@example.com', 'bob@example.com')).not.toMatch(/bob@example\.com/i);
  });
});
