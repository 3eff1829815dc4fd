/**
 * Errors with Kratos's wire shape: {"error":{id?, code, status, reason?, message, details?}}.
 * `reason` and `details` are public; `debug` and `cause` never leave the process.
 */
export type ErrorDetails = Record<string, unknown>;

export interface KratosErrorBody {
  error: {
    id?: string;
    code: number;
    status: string;
    reason?: string;
    message: string;
    details?: ErrorDetails;
  };
  [beside: string]: unknown;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 410: 'Gone', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const DEFAULT_MESSAGE: Record<number, string> = {
  400: 'The request was malformed or contained invalid parameters',
  401: 'The request could not be authorized',
  403: 'The requested action was forbidden',
  404: 'The requested resource could not be found',
  409: 'The resource could not be created due to a conflict',
  410: 'The requested resource is no longer available',
  413: 'The request body is too large',
  415: 'The request content type is not supported',
  422: 'The request was well-formed but was unable to be followed due to semantic errors',
  500: 'An internal server error occurred, please contact the system administrator',
  503: 'The service is currently unavailable',
};

export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? 'Error';
}

export interface KratosErrorInit {
  reason?: string;
  message?: string;
  details?: ErrorDetails;
  /** Keys written beside `error` in the body (redirect_browser_to, use_flow_id, ...). */
  beside?: Record<string, unknown>;
  debug?: string;
  cause?: unknown;
  headers?: Record<string, string>;
  /**
   * Where an HTML browser is sent instead of the error page (Kratos answers many flow errors with a redirect for
   * browsers and with this error for JSON clients). Never serialized.
   */
  browserLocation?: string;
  /** The HTTP status when it differs from the body's `error.code` (Kratos's `WriteErrorCode`). */
  httpStatus?: number;
}

export class KratosError extends Error {
  readonly status: number;
  readonly id?: string;
  readonly reason?: string;
  readonly details?: ErrorDetails;
  readonly beside?: Record<string, unknown>;
  readonly debug?: string;
  readonly headers?: Record<string, string>;
  readonly browserLocation?: string;
  readonly httpStatus?: number;
  /** The type of the flow the error arose in, when there is one (HTML browsers of browser flows see pages). */
  flowType?: 'api' | 'browser';

  constructor(status: number, id: string | undefined, init: KratosErrorInit = {}) {
    super(init.message ?? DEFAULT_MESSAGE[status] ?? statusText(status), { cause: init.cause });
    this.name = 'KratosError';
    this.status = status;
    this.id = id;
    this.reason = init.reason;
    this.details = init.details;
    this.beside = init.beside;
    this.debug = init.debug;
    this.headers = init.headers;
    this.browserLocation = init.browserLocation;
    this.httpStatus = init.httpStatus;
  }

  toJSON(): KratosErrorBody {
    const error: KratosErrorBody['error'] = { code: this.status, status: statusText(this.status), message: this.message };
    if (this.id) error.id = this.id;
    if (this.reason) error.reason = this.reason;
    if (this.details && Object.keys(this.details).length > 0) error.details = this.details;
    return { error, ...(this.beside ?? {}) };
  }
}

export const badRequest = (reason: string, init: Omit<KratosErrorInit, 'reason'> = {}) =>
  new KratosError(400, undefined, { ...init, reason });
export const notFound = (reason = 'Unable to locate the resource', init: Omit<KratosErrorInit, 'reason'> = {}) =>
  new KratosError(404, undefined, { ...init, reason });
export const conflict = (reason: string, init: Omit<KratosErrorInit, 'reason'> = {}) =>
  new KratosError(409, undefined, { ...init, reason });
export const forbidden = (reason: string, init: Omit<KratosErrorInit, 'reason'> = {}) =>
  new KratosError(403, undefined, { ...init, reason });
export const unauthorized = (reason: string, init: Omit<KratosErrorInit, 'reason'> = {}) =>
  new KratosError(401, undefined, { ...init, reason });
export const payloadTooLarge = (reason: string) => new KratosError(413, undefined, { reason });
export const internal = (cause: unknown) => new KratosError(500, undefined, { cause });

/** Serializes any thrown value; non-Kratos errors become a bare 500 with nothing internal. */
export function toKratosError(err: unknown): KratosError {
  return err instanceof KratosError ? err : internal(err);
}

// ---------------------------------------------------------------------------------------------------------------
// One constructor per Kratos error id (the ids Kratos's clients branch on), so each is written the same way everywhere.

type Init = Omit<KratosErrorInit, 'reason'>;

export const selfServiceFlowDisabled = (reason: string) => new KratosError(400, 'self_service_flow_disabled', { reason });

export const sessionAlreadyAvailable = (reason: string, init: Init = {}) => new KratosError(400, 'session_already_available', { ...init, reason });

export const sessionInactive = (reason = 'No active session was found in this request.', init: Init = {}) =>
  new KratosError(401, 'session_inactive', { ...init, reason });

export const sessionAal1Required = () =>
  new KratosError(401, 'session_aal1_required', { reason: 'You can not requested a higher AAL (AAL2/AAL3) without an active session.' });

/** The session is aal1 but the identity has a second factor (`required_aal: highest_available`). */
export const sessionAal2Required = (redirectTo: string) => new KratosError(403, 'session_aal2_required', {
  reason: 'An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.',
  message: 'Session does not fulfill the requested Authenticator Assurance Level',
  details: { redirect_browser_to: redirectTo },
  beside: { redirect_browser_to: redirectTo },
  browserLocation: redirectTo,
});

/** `redirectTo`: the refresh login that returns to the waiting change. */
export const sessionRefreshRequired = (redirectTo: string) => new KratosError(403, 'session_refresh_required', {
  reason: 'The login session is too old and thus not allowed to update these fields. Please re-authenticate.',
  beside: { redirect_browser_to: redirectTo },
  browserLocation: redirectTo,
});

/** Kratos answers JSON clients 403 while the body says 400 (WriteErrorCode). */
export const sessionVerifiedAddressRequired = (continueWith: unknown[], browserLocation: string) => new KratosError(400, 'session_verified_address_required', {
  reason: 'Your account\'s email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.',
  message: 'your email or phone address is not yet verified',
  details: { continue_with: continueWith },
  httpStatus: 403,
  browserLocation,
});

export const securityIdentityMismatch = () =>
  new KratosError(403, 'security_identity_mismatch', { reason: 'The flow was interrupted because the session does not belong to the flow\'s identity.' });

export const securityCsrfViolation = (reason?: string) => new KratosError(403, 'security_csrf_violation', reason ? { reason } : {
  reason: 'Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.',
  message: 'the request was rejected to protect you from Cross-Site-Request-Forgery',
  details: {
    docs: 'https://www.ory.sh/kratos/docs/debug/csrf',
    hint: 'The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).',
    reject_reason: 'The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.',
  },
});

export const selfServiceFlowExpired = (init: KratosErrorInit) => new KratosError(410, 'self_service_flow_expired', init);

export const selfServiceFlowReplaced = (useFlowId: string, browserLocation: string) => new KratosError(410, 'self_service_flow_replaced', {
  reason: 'An error occured, please retry the flow.', message: 'self-service flow replaced', beside: { use_flow_id: useFlowId }, browserLocation,
});

export const browserLocationChangeRequired = (to: string) => new KratosError(422, 'browser_location_change_required', {
  reason: 'In order to complete this flow please redirect the browser to: ' + to,
  message: 'browser location change required',
  beside: { redirect_browser_to: to },
  browserLocation: to,
});

/**
 * A rate limit or a lockout (src/ratelimit/). Kratos has no error id for it (rate limiting is left to the operator), so
 * none is invented: clients branch on the 429 and read `Retry-After` (also in `details.retry_after`, seconds, for the
 * error UI, which sees no headers). The text is the same whichever limit applied, so it never tells whether an
 * account exists.
 */
export const tooManyRequests = (retryAfterSeconds: number) => new KratosError(429, undefined, {
  reason: `Too many attempts. Please wait ${retryAfterSeconds} seconds before trying again.`,
  message: 'The request was rate limited',
  details: { retry_after: retryAfterSeconds },
  headers: { 'Retry-After': String(retryAfterSeconds) },
});

/**
 * What the limits are counted in (Redis) does not answer: nothing is checked unguarded, so the request is refused for
 * now (fail closed), with a short `Retry-After`; a 500 would say idflow broke. Kratos has no id for it either.
 */
export const rateLimitUnavailable = (retryAfterSeconds: number) => new KratosError(503, undefined, {
  reason: 'Requests can not be checked against the rate limits right now. Please try again in a moment.',
  details: { retry_after: retryAfterSeconds },
  headers: { 'Retry-After': String(retryAfterSeconds) },
});
