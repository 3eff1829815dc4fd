/**
 * Kratos's `auth` block for outgoing requests (web hooks, the HTTP courier): `api_key` (a header or a cookie) or
 * `basic_auth`. Returns the headers to add and the secret strings a redactor must keep out of logs and errors.
 */
export interface RequestAuthConfig {
  type: 'api_key' | 'basic_auth';
  config: Record<string, string | undefined>;
}

export class RequestAuthError extends Error {}

export function requestAuth(auth: RequestAuthConfig | undefined, where: string): { headers: Record<string, string>; secrets: string[] } {
  if (!auth) return { headers: {}, secrets: [] };
  if (auth.type === 'basic_auth') {
    const basic = Buffer.from(`${auth.config.user ?? ''}:${auth.config.password ?? ''}`).toString('base64');
    return { headers: { authorization: `Basic ${basic}` }, secrets: [auth.config.password ?? '', basic].filter(Boolean) };
  }
  if (auth.type === 'api_key') {
    const { name, value, in: placement } = auth.config;
    if (!name || !value) throw new RequestAuthError(`${where}: api_key needs config.name and config.value`);
    return { headers: placement === 'cookie' ? { cookie: `${name}=${value}` } : { [name]: value }, secrets: [value] };
  }
  throw new RequestAuthError(`${where}: unknown auth type ${JSON.stringify((auth as { type?: unknown }).type)}`);
}

/** Header values that look like credentials (their names mention auth, key, token, secret or cookie). */
export function secretHeaderValues(headers: Record<string, string> | undefined): string[] {
  return Object.entries(headers ?? {}).filter(([name]) => /auth|key|token|secret|cookie/i.test(name)).map(([, value]) => value);
}
