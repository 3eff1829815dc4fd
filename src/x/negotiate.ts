/**
 * Content negotiation exactly as Kratos does it: a port of `github.com/golang/gddo/httputil` (vendored in
 * `ory/herodot/httputil`) `NegotiateContentType` + `header.ParseAccept`, and of Kratos `x/isjsonrequest.go`.
 *
 * gddo rules: the highest q wins; at equal q an exact match beats `type/*`, which beats `*`/`*`; the order of the offers
 * breaks the remaining ties; q=0 excludes. Parsing quirks are kept on purpose (media types compared case-sensitively;
 * an Accept element with a parameter other than `q` stops parsing of the rest of that header value).
 */

export interface RequestContentHeaders {
  contentType?: string | null;
  accept?: string | null;
}

/** Offers of Kratos `x.IsJSONRequest` / `x.IsBrowserRequest`. */
export const JSON_REQUEST_OFFERS: readonly string[] = ['text/html', 'text/*', '*/*', 'application/json'];
/** Offers of Kratos `redir.SecureContentNegotiationRedirection` / `ContentNegotiationRedirection`. */
export const REDIRECT_OFFERS: readonly string[] = ['text/html', 'application/json'];
const DEFAULT_OFFER = 'text/html';

export interface AcceptSpec {
  value: string;
  q: number;
}

// RFC 2616 token characters: CHAR except CTLs and separators.
const SEPARATORS = ' \t"(),/:;<=>?@[]\\{}';
function isTokenChar(c: number): boolean {
  return c > 31 && c < 127 && !SEPARATORS.includes(String.fromCharCode(c));
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function skipSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
}

function expectTokenSlash(s: string): [string, string] {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!isTokenChar(c) && c !== 0x2f /* / */) break;
    i++;
  }
  return [s.slice(0, i), s.slice(i)];
}

function expectQuality(s: string): [number, string] {
  let q: number;
  if (s.length === 0) return [-1, ''];
  if (s[0] === '0') q = 0;
  else if (s[0] === '1') q = 1;
  else return [-1, ''];
  s = s.slice(1);
  if (!s.startsWith('.')) return [q, s];
  s = s.slice(1);
  let i = 0;
  let n = 0;
  let d = 1;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    d *= 10;
  }
  return [q + n / d, s.slice(i)];
}

/** gddo `header.ParseAccept` over one or more header values. */
export function parseAccept(values: string | readonly string[] | null | undefined): AcceptSpec[] {
  const list = values == null ? [] : typeof values === 'string' ? [values] : values;
  const specs: AcceptSpec[] = [];
  for (let s of list) {
    for (;;) {
      let value: string;
      [value, s] = expectTokenSlash(s);
      if (value === '') break;
      let q = 1;
      s = skipSpace(s);
      if (s.startsWith(';')) {
        s = skipSpace(s.slice(1));
        if (!s.startsWith('q=')) break;
        [q, s] = expectQuality(s.slice(2));
        if (q < 0) break;
      }
      specs.push({ value, q });
      s = skipSpace(s);
      if (!s.startsWith(',')) break;
      s = skipSpace(s.slice(1));
    }
  }
  return specs;
}

/** gddo `httputil.NegotiateContentType`: the best offer for `accept`, or `defaultOffer` when none matches. */
export function negotiateContentType(
  accept: string | readonly string[] | null | undefined,
  offers: readonly string[],
  defaultOffer: string,
): string {
  let bestOffer = defaultOffer;
  let bestQ = -1;
  let bestWild = 3;
  const specs = parseAccept(accept);
  for (const offer of offers) {
    for (const spec of specs) {
      if (spec.q === 0) continue; // excluded
      if (spec.q < bestQ) continue; // a better match was already found
      if (spec.value === '*/*') {
        if (spec.q > bestQ || bestWild > 2) {
          bestQ = spec.q;
          bestWild = 2;
          bestOffer = offer;
        }
      } else if (spec.value.endsWith('/*')) {
        if (offer.startsWith(spec.value.slice(0, -1)) && (spec.q > bestQ || bestWild > 1)) {
          bestQ = spec.q;
          bestWild = 1;
          bestOffer = offer;
        }
      } else if (spec.value === offer && (spec.q > bestQ || bestWild > 0)) {
        bestQ = spec.q;
        bestWild = 0;
        bestOffer = offer;
      }
    }
  }
  return bestOffer;
}

/**
 * The media type of a Content-Type value (parameters dropped, lower-cased, trimmed). Kratos compares the whole
 * header to `application/json`; idflow also accepts parameters such as `; charset=utf-8` and any letter case.
 */
export function mediaType(contentType: string | null | undefined): string {
  if (typeof contentType !== 'string') return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Kratos `x.IsJSONRequest`: JSON Content-Type, or an Accept header that negotiates to `application/json`. */
export function isJsonRequest(headers: RequestContentHeaders): boolean {
  return (
    mediaType(headers.contentType) === 'application/json' ||
    negotiateContentType(headers.accept, JSON_REQUEST_OFFERS, DEFAULT_OFFER) === 'application/json'
  );
}

/** Kratos `x.IsBrowserRequest`: the Accept header negotiates to `text/html` (also true without Accept). */
export function isBrowserRequest(accept: string | null | undefined): boolean {
  return negotiateContentType(accept, JSON_REQUEST_OFFERS, DEFAULT_OFFER) === 'text/html';
}

/**
 * The stricter test Kratos uses for success redirects (`redir.SecureContentNegotiationRedirection`): offers
 * `text/html` and `application/json` only, Content-Type ignored. True -> answer with JSON, false -> 303.
 */
export function prefersJsonForRedirect(accept: string | null | undefined): boolean {
  return negotiateContentType(accept, REDIRECT_OFFERS, DEFAULT_OFFER) === 'application/json';
}
