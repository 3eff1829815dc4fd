import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeIdentifier } from '../../../src/identity/schema/index.ts';
import { makeSchema, schemaDoc } from './helpers.ts';

const root = resolve(import.meta.dirname, '../../..');
const defaultSchema = makeSchema(JSON.parse(readFileSync(resolve(root, 'schemas/default.schema.json'), 'utf8')), 'default');

describe('extract (ory.sh/kratos extension)', () => {
  it('derives every identifier and address from the default schema, normalised', () => {
    expect(defaultSchema.extract({ email: '  Foo@Example.COM ', name: { first: 'Foo' } })).toEqual({
      identifiers: {
        password: ['foo@example.com'],
        webauthn: ['foo@example.com'],
        code: [{ value: 'foo@example.com', via: 'email' }],
        passkeyDisplayName: 'Foo@Example.COM',
        totpAccountName: 'Foo@Example.COM',
      },
      verifiableAddresses: [{ value: 'foo@example.com', via: 'email' }],
      recoveryAddresses: [{ value: 'foo@example.com', via: 'email' }],
      organizationMatchers: [],
    });
  });

  it('walks nested objects, arrays of strings and de-duplicates', () => {
    const s = makeSchema(
      schemaDoc({
        contact: {
          type: 'object',
          properties: {
            primary: {
              type: 'string',
              format: 'email',
              'ory.sh/kratos': { credentials: { password: { identifier: true } }, verification: { via: 'email' } },
            },
            phone: {
              type: 'string',
              format: 'tel',
              'ory.sh/kratos': {
                credentials: { password: { identifier: true }, code: { identifier: true, via: 'sms' } },
                verification: { via: 'sms' },
                recovery: { via: 'sms' },
              },
            },
          },
        },
        aliases: {
          type: 'array',
          items: {
            type: 'string',
            format: 'email',
            'ory.sh/kratos': { credentials: { password: { identifier: true } }, recovery: { via: 'email' } },
          },
        },
        username: { type: 'string', 'ory.sh/kratos': { credentials: { password: { identifier: true }, webauthn: { identifier: true } } } },
        plain: { type: 'string' },
      }),
    );
    const out = s.extract({
      contact: { primary: 'Ada@Example.com', phone: '+49 (30) 123-456' },
      aliases: ['ADA@example.com', 'b@Example.com ', 'b@example.com'],
      username: ' Ｌｏｖｅｌａｃｅ ',
      plain: 'ignored@example.com',
    });
    expect(out.identifiers.password).toEqual(['ada@example.com', '+4930123456', 'b@example.com', 'lovelace']);
    expect(out.identifiers.webauthn).toEqual(['lovelace']);
    expect(out.identifiers.code).toEqual([{ value: '+4930123456', via: 'sms' }]);
    expect(out.verifiableAddresses).toEqual([
      { value: 'ada@example.com', via: 'email' },
      { value: '+4930123456', via: 'sms' },
    ]);
    expect(out.recoveryAddresses).toEqual([
      { value: '+4930123456', via: 'sms' },
      { value: 'ada@example.com', via: 'email' },
      { value: 'b@example.com', via: 'email' },
    ]);
    expect(out.identifiers.passkeyDisplayName).toBeUndefined();
  });

  it('applies an extension on an array node to each string item', () => {
    const s = makeSchema(
      schemaDoc({
        emails: { type: 'array', items: { type: 'string', format: 'email' }, 'ory.sh/kratos': { verification: { via: 'email' } } },
      }),
    );
    expect(s.extract({ emails: ['X@Y.io', 'x@y.io', 'z@y.io'] }).verifiableAddresses).toEqual([
      { value: 'x@y.io', via: 'email' },
      { value: 'z@y.io', via: 'email' },
    ]);
  });

  it('follows only the matching anyOf / oneOf branches and if/then/else', () => {
    const s = makeSchema(
      schemaDoc({
        login: {
          anyOf: [
            { type: 'string', format: 'email', 'ory.sh/kratos': { verification: { via: 'email' } } },
            { type: 'string', format: 'tel', 'ory.sh/kratos': { verification: { via: 'sms' } } },
          ],
        },
        handle: {
          type: 'string',
          if: { pattern: '^@' },
          then: { 'ory.sh/kratos': { credentials: { password: { identifier: true } } } },
          else: { 'ory.sh/kratos': { credentials: { webauthn: { identifier: true } } } },
        },
      }),
    );
    expect(s.extract({ login: '+1 415 555 2671', handle: '@Ada' })).toMatchObject({
      verifiableAddresses: [{ value: '+14155552671', via: 'sms' }],
      identifiers: { password: ['@ada'], webauthn: [] },
    });
    expect(s.extract({ login: 'Me@X.org', handle: 'ada' })).toMatchObject({
      verifiableAddresses: [{ value: 'me@x.org', via: 'email' }],
      identifiers: { password: [], webauthn: ['ada'] },
    });
  });

  it('ignores absent, empty and non-string values', () => {
    expect(defaultSchema.extract({})).toMatchObject({ identifiers: { password: [], code: [] }, verifiableAddresses: [] });
    expect(defaultSchema.extract({ email: '   ' }).identifiers.password).toEqual([]);
    const s = makeSchema(schemaDoc({ n: { type: 'number', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } } }));
    expect(s.extract({ n: 5 }).identifiers.password).toEqual([]);
  });

  it('derives the code channel from the format when via is absent', () => {
    const s = makeSchema(
      schemaDoc({
        email: { type: 'string', format: 'email', 'ory.sh/kratos': { credentials: { code: { identifier: true } } } },
        phone: { type: 'string', format: 'tel', 'ory.sh/kratos': { credentials: { code: { identifier: true } } } },
      }),
    );
    expect(s.extract({ email: 'A@b.co', phone: '+14155552671' }).identifiers.code).toEqual([
      { value: 'a@b.co', via: 'email' },
      { value: '+14155552671', via: 'sms' },
    ]);
  });

  it('collects organization matchers', () => {
    const s = makeSchema(schemaDoc({ email: { type: 'string', format: 'email', 'ory.sh/kratos': { organizations: { matcher: 'email_domain' } } } }));
    expect(s.extract({ email: 'Ada@Corp.example' }).organizationMatchers).toEqual(['ada@corp.example']);
  });
});

describe('normalizeIdentifier', () => {
  it('normalises e-mail addresses', () => {
    expect(normalizeIdentifier('  Foo@Example.COM ', 'email')).toBe('foo@example.com');
    expect(normalizeIdentifier('ｆｏｏ@ｅｘａｍｐｌｅ.com', 'email')).toBe('foo@example.com');
  });
  it('normalises phone numbers to E.164 when parseable', () => {
    expect(normalizeIdentifier(' +1 (415) 555-2671 ', 'sms')).toBe('+14155552671');
    expect(normalizeIdentifier('+４９ ３０ １２３４５６', 'sms')).toBe('+4930123456');
    expect(normalizeIdentifier(' 0301234 ', 'sms')).toBe('0301234');
  });
  it('normalises other identifiers PRECIS-freeform-like', () => {
    expect(normalizeIdentifier('\u3000Ａｄａ\u00a0Lovelace ', 'text')).toBe('ada lovelace');
    expect(normalizeIdentifier('ﬁx', 'text')).toBe('fix');
  });
  it('matches what extract stores, so a typed login identifier finds the stored one', () => {
    const stored = defaultSchema.extract({ email: 'Ada.Lovelace@Example.ORG' }).identifiers.password[0];
    expect(normalizeIdentifier(' ada.lovelace@example.org', 'email')).toBe(stored);
    expect(normalizeIdentifier('ADA.LOVELACE@EXAMPLE.ORG', 'text')).toBe(stored);
  });
});
