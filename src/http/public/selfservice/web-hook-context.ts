import type { Request } from 'express';
import type { Registry } from '../../../registry.ts';
import type { HookFlow } from '../../../hooks/web-hooks.ts';
import { requestContext } from '../../../hooks/web-hooks.ts';
import { toIdentityJson } from '../../../identity/identity-json.ts';
import { toSessionJson } from '../../../session/index.ts';
import type { IssuedSession } from '../../../session/session-service.ts';
import type { IdentityRecord } from '../../../identity/identity.ts';

/**
 * Runs the flow's `web_hook` after-hooks (nothing to do, and nothing loaded, when none is configured) with Kratos's
 * ctx: the flow as its client sees it, the identity (no credentials), the new session (no token), the request.
 */
export async function runAfterWebHooks(
  registry: Registry,
  req: Request,
  kind: HookFlow,
  method: string | undefined,
  input: { flow: (identity: IdentityRecord | undefined) => unknown; identity: () => Promise<IdentityRecord | undefined>; issued?: IssuedSession },
): Promise<void> {
  if (!registry.webHooks.has(kind, method)) return;
  const identity = await input.identity();
  const session = input.issued && identity
    ? toSessionJson({ ...input.issued.session, identity }, { includeIdentity: true, schemaUrl: registry.schemaUrl })
    : undefined;
  await registry.webHooks.runAfter(kind, method, {
    flow: input.flow(identity),
    ...(identity ? { identity: toIdentityJson(identity, { schemaUrl: registry.schemaUrl, admin: false, credentials: false }) } : {}),
    ...(session ? { session } : {}),
    ...requestPart(registry, req),
  });
}

/** Runs the `web_hook` before-hooks of a flow being created, with ctx {flow, request...}. */
export async function runBeforeWebHooks(registry: Registry, req: Request, kind: HookFlow, flow: () => unknown): Promise<void> {
  await registry.webHooks.runBefore(kind, { flow: flow(), ...requestPart(registry, req) });
}

const requestPart = (registry: Registry, req: Request) =>
  requestContext({ method: req.method, url: new URL(req.originalUrl, registry.urls.public).toString(), headers: req.headers }, registry.webHooks.headerAllowlist);
