import { describe, expect, it } from 'vitest';
import {
  isBrowserRequest,
  isJsonRequest,
  mediaType,
  negotiateContentType,
  parseAccept,
  prefersJsonForRedirect,
} from '../../../src/x/negotiate.ts';

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('negotiateContentType (gddo port)', () => {
  // The upstream table from golang/gddo httputil/negotiate_test.go.
  const table: [string, string[], string, string][] = [
    ['text/html, */*;q=0', ['x/y'], '', ''],
    ['text/html, */*', ['x/y'], '', 'x/y'],
    ['text/html, image/png', ['text/html', 'image/png'], '', 'text/html'],
    ['text/html, image/png', ['image/png', 'text/html'], '', 'image/png'],
    ['text/html, image/png; q=0.5', ['image/png'], '', 'image/png'],
    ['text/html, image/png; q=0.5', ['text/html'], '', 'text/html'],
    ['text/html, image/png; q=0.5', ['foo/bar'], '', ''],
    ['text/html, image/png; q=0.5', ['image/png', 'text/html'], '', 'text/html'],
    ['text/html, image/png; q=0.5', ['text/html', 'image/png'], '', 'text/html'],
    ['text/html;q=0.5, image/png', ['image/png'], '', 'image/png'],
    ['text/html;q=0.5, image/png', ['text/html'], '', 'text/html'],
    ['text/html;q=0.5, image/png', ['image/png', 'text/html'], '', 'image/png'],
    ['text/html;q=0.5, image/png', ['text/html', 'image/png'], '', 'image/png'],
    ['image/png, image/*;q=0.5', ['image/jpg', 'image/png'], '', 'image/png'],
    ['image/png, image/*;q=0.5', ['image/jpg'], '', 'image/jpg'],
    ['image/png, image/*;q=0.5', ['image/jpg', 'image/gif'], '', 'image/jpg'],
    ['image/png, image/*', ['image/jpg', 'image/gif'], '', 'image/jpg'],
    ['image/png, image/*', ['image/gif', 'image/jpg'], '', 'image/gif'],
    ['image/png, image/*', ['image/gif', 'image/png'], '', 'image/png'],
    ['image/png, image/*', ['image/png', 'image/gif'], '', 'image/png'],
  ];
  it.each(table)('%j over %j -> %j', (accept, offers, def, want) => {
    expect(negotiateContentType(accept, offers, def)).toBe(want);
  });

  it('parses q-values like gddo', () => {
    expect(parseAccept('a/b;q=0.123, c/d ; q=1.0,e/f;q=0')).toEqual([
      { value: 'a/b', q: 0.123 },
      { value: 'c/d', q: 1 },
      { value: 'e/f', q: 0 },
    ]);
    // A non-q parameter stops parsing of that header value; the element itself is dropped.
    expect(parseAccept('a/b, c/d;level=1, e/f')).toEqual([{ value: 'a/b', q: 1 }]);
    // Invalid q ("2", ".5") also stops parsing.
    expect(parseAccept('a/b;q=2, c/d')).toEqual([]);
    expect(parseAccept('a/b;q=.5, c/d')).toEqual([]);
    expect(parseAccept(['a/b', 'c/d'])).toEqual([{ value: 'a/b', q: 1 }, { value: 'c/d', q: 1 }]);
    expect(parseAccept(undefined)).toEqual([]);
  });
});

describe('isJsonRequest (Kratos x.IsJSONRequest)', () => {
  const cases: [string, { contentType?: string | null; accept?: string | null }, boolean][] = [
    ['no headers', {}, false],
    ['null headers', { contentType: null, accept: null }, false],
    ['empty Accept', { accept: '' }, false],
    ['Accept */*', { accept: '*/*' }, false],
    ['Accept application/json', { accept: 'application/json' }, true],
    ['Accept application/json, text/plain, */* (axios)', { accept: 'application/json, text/plain, */*' }, true],
    ['Accept */*, application/json', { accept: '*/*, application/json' }, true],
    ['Accept application/json, text/html', { accept: 'application/json, text/html' }, false],
    ['Accept text/html, application/json', { accept: 'text/html, application/json' }, false],
    ['Accept text/html', { accept: 'text/html' }, false],
    ['Accept text/*', { accept: 'text/*' }, false],
    ['Accept text/plain', { accept: 'text/plain' }, false],
    ['Chrome navigation', { accept: CHROME }, false],
    ['Firefox navigation', { accept: FIREFOX }, false],
    ['Accept application/json;q=0.9, text/html', { accept: 'application/json;q=0.9, text/html' }, false],
    ['Accept text/html;q=0.9, application/json', { accept: 'text/html;q=0.9, application/json' }, true],
    ['Accept text/html;q=0.5, */*;q=0.9 (wildcard gives text/html at 0.9)', { accept: 'text/html;q=0.5, */*;q=0.9' }, false],
    ['Accept */*;q=0.1, application/json;q=0.1 (exact beats */* at equal q)', { accept: '*/*;q=0.1, application/json;q=0.1' }, true],
    ['Accept text/*;q=0.5, application/json;q=0.5 (exact beats text/* at equal q)', { accept: 'text/*;q=0.5, application/json;q=0.5' }, true],
    ['Accept text/*, application/json;q=0.99', { accept: 'text/*, application/json;q=0.99' }, false],
    ['Accept application/json;q=0 (excluded)', { accept: 'application/json;q=0' }, false],
    ['Accept application/json;q=0, */*', { accept: 'application/json;q=0, */*' }, false],
    ['Accept application/json;q=0.001', { accept: 'application/json;q=0.001' }, true],
    ['Accept text/html;q=0, application/json;q=0.1', { accept: 'text/html;q=0, application/json;q=0.1' }, true],
    ['Accept application/*', { accept: 'application/*' }, true],
    ['Accept application/*, text/html;q=0.9', { accept: 'application/*, text/html;q=0.9' }, true],
    ['Accept image/png (no match -> default text/html)', { accept: 'image/png' }, false],
    ['Accept application/json;charset=utf-8 (gddo drops parameterised element)', { accept: 'application/json;charset=utf-8' }, false],
    ['Accept Application/JSON (gddo is case-sensitive)', { accept: 'Application/JSON' }, false],
    ['Content-Type application/json', { contentType: 'application/json' }, true],
    ['Content-Type application/json; charset=utf-8', { contentType: 'application/json; charset=utf-8' }, true],
    ['Content-Type APPLICATION/JSON', { contentType: 'APPLICATION/JSON' }, true],
    ['Content-Type application/json with Accept text/html', { contentType: 'application/json', accept: 'text/html' }, true],
    ['Content-Type form', { contentType: 'application/x-www-form-urlencoded' }, false],
    ['Content-Type multipart', { contentType: 'multipart/form-data; boundary=x' }, false],
    ['Content-Type application/jsonx', { contentType: 'application/jsonx' }, false],
    ['Content-Type application/json-patch+json', { contentType: 'application/json-patch+json' }, false],
    ['Content-Type text/json', { contentType: 'text/json' }, false],
    ['Content-Type form + Accept application/json', { contentType: 'application/x-www-form-urlencoded', accept: 'application/json' }, true],
  ];
  it.each(cases)('%s', (_name, headers, want) => {
    expect(isJsonRequest(headers)).toBe(want);
  });

  it('isBrowserRequest is true exactly when negotiation yields text/html', () => {
    expect(isBrowserRequest(undefined)).toBe(true);
    expect(isBrowserRequest(CHROME)).toBe(true);
    expect(isBrowserRequest('*/*')).toBe(true);
    expect(isBrowserRequest('application/json')).toBe(false);
    expect(isBrowserRequest('text/plain')).toBe(true); // no offer matches -> default text/html
    expect(isBrowserRequest('application/json, text/plain, */*')).toBe(false);
  });

  it('mediaType strips parameters', () => {
    expect(mediaType(' Application/JSON ; charset=UTF-8')).toBe('application/json');
    expect(mediaType(undefined)).toBe('');
  });
});

describe('prefersJsonForRedirect (offers text/html, application/json)', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', true],
    ['application/json, text/plain, */*', true],
    ['text/html, application/json', false],
    ['application/json, text/html', false],
    ['text/html;q=0.9, application/json', true],
    ['text/*, application/json;q=0.5', false],
    ['text/plain', false],
    ['text/*', false],
    ['application/*', true],
    [CHROME, false],
    [FIREFOX, false],
    ['application/json;q=0', false],
  ];
  it.each(cases)('%j -> %j', (accept, want) => {
    expect(prefersJsonForRedirect(accept)).toBe(want);
  });

  it('ignores Content-Type (only the Accept header is an input)', () => {
    expect(prefersJsonForRedirect(undefined)).toBe(false);
    expect(isJsonRequest({ contentType: 'application/json' })).toBe(true);
  });
});
