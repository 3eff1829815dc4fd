/**
 * What the flow service needs to know about a request, and what it answers — plain data, no HTTP objects. The
 * adapter (src/http/public/selfservice/) fills `RequestFacts` from the request and writes `FlowAnswer` back.
 */
import type { ActiveSession } from '../session/session.ts';
import type { FlowType } from '../persistence/store.ts';
import { generateCsrfToken } from '../x/csrf-token.ts';

export interface CallerSession {
  session: ActiveSession;
  token: string;
  source: 'header' | 'cookie' | 'bearer';
}

export interface RequestFacts {
  /** The caller's active session, when the request carries one. */
  session?: CallerSession;
  /** The raw CSRF token from the browser's CSRF cookie. */
  csrfCookie?: string;
  /** The CSRF token the request submitted (body `csrf_token` or `X-CSRF-Token`). */
  csrfSubmitted?: string;
  /** An Origin header or a cookie other than a CDN's: a browser is talking (API flows refuse that). */
  browserMarkers: boolean;
  device: { ip?: string; userAgent?: string };
  /** The public URL of this request (from the configured base URL, never from Host headers). */
  requestUrl: string;
  /** The request as web hooks may see it (allow-listed headers only reach them). */
  hook: { method: string; url: string; headers: Record<string, string | string[] | undefined> };
}

export interface CookieChanges {
  /** Set the CSRF cookie to this raw token. */
  csrf?: string;
  /** Set the session cookie. */
  session?: { token: string; expiresAt: Date };
}

/**
 * A flow answer: JSON clients get `status` and `body`; an HTML browser (a browser flow whose client did not ask for
 * JSON) is sent to `browserLocation` with `browserStatus` (303 unless Kratos uses 302 there).
 */
export interface FlowAnswer {
  flowType: FlowType;
  status: number;
  body: unknown;
  browserLocation?: string;
  browserStatus?: 302 | 303;
  cookies: CookieChanges;
}

/** Per-request state: the CSRF token in use (issued at most once per request) and the cookies to set. */
export class RequestState {
  readonly facts: RequestFacts;
  readonly cookies: CookieChanges = {};
  /** The kind of outcome the submitted method returned last (the abuse guard counts failures from it). */
  methodOutcome?: string;

  constructor(facts: RequestFacts) {
    this.facts = facts;
  }

  /** The browser's CSRF token, issuing exactly one new cookie when it has none (or a malformed one). */
  csrfToken(): string {
    if (this.cookies.csrf) return this.cookies.csrf;
    const existing = this.facts.csrfCookie;
    if (existing && /^[A-Za-z0-9+/]{43}=$/.test(existing)) return existing;
    this.cookies.csrf = generateCsrfToken();
    return this.cookies.csrf;
  }

  /**
   * A new CSRF token (a session was issued): flows created from here on are bound to it. At most once per request,
   * as Kratos's nosurf: a second call returns the token already rotated to.
   */
  rotateCsrf(): string {
    if (!this.#rotated) {
      this.cookies.csrf = generateCsrfToken();
      this.#rotated = true;
    }
    return this.cookies.csrf!;
  }

  #rotated = false;
}
