import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTemplate, escapeHtml, snakeCase, TemplateError } from '../../../src/courier/template-engine.ts';
import { headerSafe, readTemplateUrl, TEMPLATE_TYPES, templateModel, TemplateSet, type TemplateType } from '../../../src/courier/templates.ts';

const render = (source: string, data: Record<string, unknown>, escape: 'html' | 'none' = 'none', fields?: string[]) =>
  compileTemplate(source, { name: 't', fields }).render(data, { escape });

describe('courier template engine (Go text/template subset)', () => {
  it('maps Go field names to the JSON keys of the data', () => {
    expect(snakeCase('RecoveryURL')).toBe('recovery_url');
    expect(snakeCase('ExpiresInMinutes')).toBe('expires_in_minutes');
    expect(snakeCase('To')).toBe('to');
    expect(render('{{ .To }} {{.RecoveryCode}} {{ .RecoveryURL }} {{ .Identity.traits.name.first }}', {
      to: 'a@example.com', recovery_code: '123', recovery_url: 'https://x/?a=1&b=2', identity: { traits: { name: { first: 'Ada' } } },
    })).toBe('a@example.com 123 https://x/?a=1&b=2 Ada');
  });

  it('supports if / else if / else / end, not, trim markers and comments', () => {
    const t = '{{/* a comment */}}{{- if .LoginCode -}} code {{ .LoginCode }} {{- else if not .To -}} nobody {{- else -}} none {{- end }}!';
    expect(render(t, { login_code: '42' })).toBe('code 42!');
    expect(render(t, {})).toBe('nobody!');
    expect(render(t, { to: 'x@example.com' })).toBe('none!');
    expect(render('a  {{- .To -}}  b', { to: 'X' })).toBe('aXb');
    expect(render('{{ if .Identity.traits }}yes{{ end }}', { identity: { traits: {} } })).toBe('');
  });

  it('renders a missing map key as nothing and objects as JSON', () => {
    expect(render('[{{ .Identity.traits.missing }}]', { identity: { traits: {} } })).toBe('[]');
    expect(render('{{ .TransientPayload }}', { transient_payload: { a: 1 } })).toBe('{"a":1}');
    expect(render('{{ .ExpiresInMinutes }}', { expires_in_minutes: 15 })).toBe('15');
  });

  it('escapes every value in HTML, none in text', () => {
    const data = { identity: { traits: { name: `<img src=x onerror="alert('x')">&` } } };
    expect(render('<b title="{{ .Identity.traits.name }}">{{ .Identity.traits.name }}</b>', data, 'html'))
      .toBe('<b title="&lt;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&gt;&amp;">&lt;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&gt;&amp;</b>');
    expect(render('{{ .Identity.traits.name }}', data, 'none')).toBe(`<img src=x onerror="alert('x')">&`);
    expect(escapeHtml('<>&"\'')).toBe('&lt;&gt;&amp;&#34;&#39;');
  });

  it('refuses what it does not support, and fields the message does not have, at compile time', () => {
    const fields = ['To', 'RecoveryCode'];
    for (const source of ['{{ .To | html }}', '{{ define "x" }}{{ end }}', '{{ template "x" . }}', '{{ $x := .To }}', '{{ printf "%s" .To }}', '{{ . }}', '{{ if .To }}', '{{ end }}', '{{ else }}', '{{ .To', '{{/* open }}', '{{ .LoginCode }}', '{{ if eq .To "x" }}y{{ end }}']) {
      expect(() => compileTemplate(source, { name: 'override.gotmpl', fields }), source).toThrow(TemplateError);
    }
    expect(() => compileTemplate('{{ .LoginCode }}', { name: 'override.gotmpl', fields })).toThrow(/override\.gotmpl: this message has no field \.LoginCode/);
  });
});

describe('courier template set', () => {
  it('strips CR/LF and control characters from subjects', () => {
    expect(headerSafe('Hello\r\nBcc: evil@x\u2028\u0000end ')).toBe('Hello Bcc: evil@x end');
  });

  it('reads base64:// and file:// URLs and refuses other schemes', () => {
    expect(readTemplateUrl(`base64://${Buffer.from('Hi {{ .To }}').toString('base64')}`, 'x')).toBe('Hi {{ .To }}');
    expect(() => readTemplateUrl('base64://not base64!', 'x')).toThrow(TemplateError);
    expect(() => readTemplateUrl('https://example.com/t.gotmpl', 'courier.templates.x')).toThrow(/only file:\/\/ and base64:\/\//);
    expect(() => readTemplateUrl('file:///nonexistent/t.gotmpl', 'courier.templates.x')).toThrow(/cannot read/);
  });

  it('fails at start-up on a broken override, naming the key', () => {
    const templates = { recovery_code: { valid: { email: { subject: `base64://${Buffer.from('{{ .LoginCode }}').toString('base64')}` } } } };
    expect(() => new TemplateSet({ templates })).toThrow(/courier\.templates\.recovery_code\.valid\.email\.subject: this message has no field \.LoginCode/);
    expect(() => new TemplateSet({ overridePath: '/nonexistent/templates' })).toThrow(/template_override_path/);
  });

  it('keeps only the fields of Kratos\'s model as template data', () => {
    const data = { to: 'a@example.com', recovery_code: '123456', recovery_url: 'https://x/?code=123456', identity: { id: 'i1' }, expires_in_minutes: 15, login_code: '9', request_url: undefined };
    // Kratos's RecoveryCodeValidModel has no RecoveryURL (the link belongs to recovery_valid and verification_code_valid).
    expect(templateModel('recovery_code_valid', data)).toEqual({ to: 'a@example.com', recovery_code: '123456', identity: { id: 'i1' }, expires_in_minutes: 15 });
    expect(templateModel('recovery_code_invalid', data)).toEqual({ to: 'a@example.com' });
    expect(templateModel('verification_code_valid', { verification_code: '1', verification_url: 'u', recovery_code: '2' })).toEqual({ verification_code: '1', verification_url: 'u' });
    expect(templateModel('registration_code_valid', { registration_code: '1', traits: { email: 'r@example.com' }, identity: { id: 'i1' } }))
      .toEqual({ registration_code: '1', traits: { email: 'r@example.com' } });
  });
});

/**
 * The built-in templates follow Kratos's (courier/template/courier/builtin/templates/): a Kratos user's mails read
 * the same, with the code and the link where Kratos puts them. Kratos's HTML bodies are these same lines, with the
 * link as an anchor; subjects are trimmed.
 */
describe('built-in templates (Kratos wording)', () => {
  const set = new TemplateSet();
  const identity = { id: '4d3f1c8e-0000-4000-8000-000000000001', traits: { email: 'ada@example.com' } };
  const recoveryUrl = 'https://idflow.test/self-service/recovery?flow=f1&token=abc';
  const verificationUrl = 'https://idflow.test/self-service/verification?flow=f2&code=222222';
  const escapedVerificationUrl = verificationUrl.replace('&', '&amp;');
  const recoveryInvalid = [
    'Hi,',
    '',
    'you (or someone else) entered this email address when trying to recover access to an account.',
    '',
    'However, this email address is not on our database of registered users and therefore the attempt has failed.',
    '',
    'If this was you, check if you signed up using a different address.',
    '',
    'If this was not you, please ignore this email.',
    '',
  ].join('\n');
  const cases: Array<{ type: TemplateType; data: Record<string, unknown>; subject: string; text: string; html?: string }> = [
    {
      type: 'recovery_valid',
      data: { recovery_url: recoveryUrl, identity, expires_in_minutes: 60 },
      subject: 'Recover access to your account',
      text: `Recover access to your account by clicking the following link:\n\n${recoveryUrl}\n\nIf this was not you, do nothing. This link expires in 60 minutes.\n\n`,
      html: `Recover access to your account by clicking the following link:\n\n<a href="${recoveryUrl.replace('&', '&amp;')}">${recoveryUrl.replace('&', '&amp;')}</a>\n\nIf this was not you, do nothing. This link expires in 60 minutes.\n`,
    },
    { type: 'recovery_invalid', data: {}, subject: 'Account access attempted', text: recoveryInvalid },
    {
      type: 'recovery_code_valid',
      data: { recovery_code: '111111', identity, expires_in_minutes: 15 },
      subject: 'Use code 111111 to recover access to your account',
      text: 'Recover access to your account by entering the following code:\n\n111111\n\nIf this was not you, do nothing. This code expires in 15 minutes.\n',
    },
    { type: 'recovery_code_invalid', data: {}, subject: 'Account access attempted', text: recoveryInvalid },
    {
      type: 'verification_valid',
      data: { verification_url: verificationUrl, identity, expires_in_minutes: 60 },
      subject: 'Please verify your email address',
      text: `Verify your account by opening the following link:\n\n${verificationUrl}\n\nIf this was not you, do nothing. This link expires in 60 minutes.\n`,
      html: `Verify your account by opening the following link:\n\n<a href="${escapedVerificationUrl}">${escapedVerificationUrl}</a>\n\nIf this was not you, do nothing. This link expires in 60 minutes.\n`,
    },
    {
      type: 'verification_invalid',
      data: {},
      subject: 'Someone tried to verify this email address',
      text: 'Someone asked to verify this email address, but we were unable to find an account for this address.\n\n'
        + 'If this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n',
    },
    {
      type: 'verification_code_valid',
      data: { verification_code: '222222', verification_url: verificationUrl, identity, expires_in_minutes: 15 },
      subject: 'Use code 222222 to verify your account',
      text: `Verify your account with the following code:\n\n222222\n\nor clicking the following link:\n\n${verificationUrl}\n\n`
        + 'If this was not you, do nothing. This code / link expires in 15 minutes.\n',
      html: `Verify your account with the following code:\n\n222222\n\nor clicking the following link:\n\n<a href="${escapedVerificationUrl}">${escapedVerificationUrl}</a>\n\n`
        + 'If this was not you, do nothing. This code / link expires in 15 minutes.\n',
    },
    {
      type: 'verification_code_invalid',
      data: {},
      subject: 'Someone tried to verify this email address',
      text: 'Hi,\n\nsomeone asked to verify this email address, but we were unable to find an account for this address.\n\n'
        + 'If this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n',
    },
    {
      type: 'login_code_valid',
      data: { login_code: '333333', identity, expires_in_minutes: 15 },
      subject: 'Use code 333333 to log in',
      text: 'Login to your account with the following code:\n\n333333\n\nIt expires in 15 minutes.\n',
    },
    {
      type: 'registration_code_valid',
      data: { registration_code: '444444', traits: identity.traits, expires_in_minutes: 15 },
      subject: 'Use code 444444 to complete your account registration',
      text: 'Complete your account registration with the following code:\n\n444444\n\nThis code expires in 15 minutes.\n',
    },
    // idflow's own (Kratos has no such templates).
    {
      type: 'registration_attempted',
      data: { identity },
      subject: 'Someone tried to sign up with your address',
      text: 'Hi,\n\nyou (or someone else) entered this email address when signing up for a new account.\n\n'
        + 'This email address already belongs to an account, so no new account was created and nothing about your account was changed.\n\n'
        + 'If this was you, sign in to your account instead; if you have forgotten your password, recover your account.\n\n'
        + 'If this was not you, please ignore this email.\n',
    },
    {
      type: 'account_recovered',
      data: { identity },
      subject: 'Your account was recovered',
      text: 'Hi,\n\nyour account was just recovered: someone proved access to this email address with a recovery code or link and was signed in.\n\n'
        + 'If this was you, no further action is needed.\n\n'
        + 'If this was not you, change your password and sign out other sessions right away, and contact support.\n',
    },
  ];

  it('has a case for every message type', () => {
    expect(cases.map((c) => c.type).sort()).toEqual([...TEMPLATE_TYPES].sort());
  });

  for (const c of cases) {
    it(`${c.type}: subject, plaintext and HTML read as Kratos's`, () => {
      const rendered = set.render(c.type, { to: 'ada@example.com', ...c.data });
      expect(rendered.subject).toBe(c.subject);
      expect(rendered.text).toBe(c.text);
      // Kratos's HTML bodies of code and "invalid" messages are the plaintext lines; link messages wrap the link in <a>.
      expect(rendered.html).toBe(c.html ?? c.text);
    });
  }

  it('puts the code before the link in a verification code mail, so the first six digits are the code', () => {
    const { text } = set.render('verification_code_valid', { verification_code: '135790', verification_url: 'https://idflow.test/v?code=135790&flow=x', expires_in_minutes: 15 });
    expect(/\b(\d{6})\b/.exec(text)![1]).toBe('135790');
    expect(text.indexOf('135790')).toBeLessThan(text.indexOf('https://idflow.test/v'));
  });

  it('still lets the operator override any part; the other parts stay built-in', () => {
    const b64 = (text: string) => `base64://${Buffer.from(text).toString('base64')}`;
    const dir = mkdtempSync(join(tmpdir(), 'idflow-tpl-unit-'));
    mkdirSync(join(dir, 'login_code', 'valid'), { recursive: true });
    writeFileSync(join(dir, 'login_code', 'valid', 'email.body.plaintext.gotmpl'), 'Your code is {{ .LoginCode }}.');
    const overridden = new TemplateSet({
      overridePath: dir,
      templates: { recovery_code: { valid: { email: { subject: b64('Code for {{ .Identity.traits.email }}') } } } },
    });
    const recovery = overridden.render('recovery_code_valid', { to: 'ada@example.com', recovery_code: '111111', identity, expires_in_minutes: 15 });
    expect(recovery.subject).toBe('Code for ada@example.com');
    expect(recovery.text).toBe('Recover access to your account by entering the following code:\n\n111111\n\nIf this was not you, do nothing. This code expires in 15 minutes.\n');
    const login = overridden.render('login_code_valid', { to: 'ada@example.com', login_code: '333333', expires_in_minutes: 15 });
    expect(login.text).toBe('Your code is 333333.');
    expect(login.subject).toBe('Use code 333333 to log in');
    expect(login.html).toBe('Login to your account with the following code:\n\n333333\n\nIt expires in 15 minutes.\n');
  });
});
