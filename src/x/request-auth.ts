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

/**
 * Everything secret about an outgoing request, for its redactor: the URL's password and credential-like query
 * values, the auth block's secrets, and header values whose names mention auth, key, token, secret or cookie.
 */
export function outboundSecrets(url: URL, authSecrets: string[], headers: Record<string, string> | undefined): string[] {
  const secrets = [...authSecrets];
  if (url.password) secrets.push(decodeURIComponent(url.password));
  for (const [key, value] of url.searchParams) if (/token|key|secret|sig|password/i.test(key)) secrets.push(value);
  for (const [name, value] of Object.entries(headers ?? {})) if (/auth|key|token|secret|cookie/i.test(name)) secrets.push(value);
  return secrets;
}
