/** The admin API as the CLI commands reach it (Kratos's CLI takes `--endpoint` the same way). */

export const ENDPOINT_HELP = `  -e, --endpoint URL            admin API base URL (default: $IDFLOW_ADMIN_URL, $KRATOS_ADMIN_URL, or
                                http://127.0.0.1:4434)`;

export function adminEndpoint(values: Record<string, unknown>, env: Record<string, string | undefined>): string {
  const base = (values.endpoint as string | undefined) ?? env.IDFLOW_ADMIN_URL ?? env.KRATOS_ADMIN_URL ?? 'http://127.0.0.1:4434';
  return base.endsWith('/') ? base : base + '/';
}

export async function callAdmin(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { accept: 'application/json', 'content-type': 'application/json', ...init.headers } });
  } catch (err) {
    throw new Error(`cannot reach the admin API at ${new URL(url).origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
}

/** The admin API's refusal as one line: its status and Kratos error reason. */
export async function adminFailure(res: Response): Promise<Error> {
  const body = await res.json().catch(() => undefined) as { error?: { reason?: string; message?: string } } | undefined;
  return new Error(`admin API answered ${res.status}: ${body?.error?.reason ?? body?.error?.message ?? res.statusText}`);
}
