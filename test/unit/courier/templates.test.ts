import { describe, expect, it } from 'vitest';
import { compileTemplate, escapeHtml, snakeCase, TemplateError } from '../../../src/courier/template-engine.ts';
import { headerSafe, readTemplateUrl, TemplateSet } from '../../../src/courier/templates.ts';

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

  it('renders every built-in template', () => {
    const set = new TemplateSet();
    const rendered = set.render('verification_code_valid', { to: 'a@example.com', verification_code: '987654', expires_in_minutes: 10 });
    expect(rendered.subject).toBe('Please verify your email address');
    expect(rendered.text).toContain('987654');
    expect(rendered.text).toContain('The code expires in 10 minutes.');
    expect(rendered.text).not.toContain('or by opening the following link');
    expect(rendered.html).toContain('<strong>987654</strong>');
  });
});
