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
