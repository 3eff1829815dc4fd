import { Router, type Request, type Response } from 'express';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { KratosError, badRequest } from '../../errors/kratos-error.ts';
import { assertBody } from '../../x/body-validator.ts';
import type { IdentityService, IdentityInput } from '../../identity/identity-service.ts';
import { toIdentityJson, type IdentityJsonOptions } from '../../identity/identity-json.ts';
import { CREDENTIAL_TYPES, type CredentialType, type IdentityRecord } from '../../identity/identity.ts';
import type { IdentityRepository } from '../../persistence/store.ts';
import { normalizeIdentifier } from '../../identity/schema/index.ts';
import type { PageTokenSealer } from '../../x/page-token.ts';
import { queryList, queryString } from '../middleware/request-context.ts';
import { paginationLinks, parsePageSize } from './pagination.ts';
import { CONTROL_CHARACTER_REASON, hasIdentifierControl } from '../../x/control-characters.ts';
import type { AbuseGuard } from '../../ratelimit/abuse-guard.ts';

export interface IdentitiesRoutesDeps {
  identities: IdentityService;
  /** Keyset listing reads the repository directly. */
  repository: Pick<IdentityRepository, 'listIds' | 'getMany'>;
  pageTokens: PageTokenSealer;
  schemaUrl: (schemaId: string) => string;
  adminBaseUrl: () => string;
  /** `rate_limit.admin`: identities created per client address (each hashes, validates and writes). */
  guard: Pick<AbuseGuard, 'begin'>;
}

const PROTECTED_PATCH_PATHS = [/^\/id(\/|$)/, /^\/state_changed_at(\/|$)/, /^\/stateChangedAt(\/|$)/, /^\/credentials(\/|$)/, /^\/created_at(\/|$)/, /^\/updated_at(\/|$)/, /^\/schema_url(\/|$)/];
const MAX_BATCH_PLAINTEXT = 200;

function includeCredential(req: Request): CredentialType[] {
  const requested = queryList(req, 'include_credential');
  const unknown = requested.filter((t) => !(CREDENTIAL_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw badRequest(`Unknown credential type "${unknown[0]}" in include_credential.`);
  return requested as CredentialType[];
}

export function identitiesRoutes(deps: IdentitiesRoutesDeps): Router {
  const router = Router();
  const json = (record: IdentityRecord, credentials: IdentityJsonOptions['credentials']) =>
    toIdentityJson(record, { schemaUrl: deps.schemaUrl, admin: true, credentials });
  const location = (id: string) => new URL(`admin/identities/${id}`, deps.adminBaseUrl()).toString();

  router.get('/admin/identities', async (req: Request, res: Response) => {
    const pageSize = parsePageSize(req, 250, 1000);
    const ids = queryList(req, 'ids');
    const identifier = queryString(req, 'credentials_identifier');
    const similar = queryString(req, 'preview_credentials_identifier_similar');
    const filters = [ids.length > 0, identifier !== undefined, similar !== undefined].filter(Boolean).length;
    if (filters > 1) throw badRequest('Only one of ids, credentials_identifier and preview_credentials_identifier_similar may be used.');
    if (ids.length > 500) throw badRequest('At most 500 ids can be requested at once.');
    if (similar !== undefined) throw badRequest('preview_credentials_identifier_similar is not supported by idflow.');
    if (identifier !== undefined && hasIdentifierControl(identifier)) throw badRequest(`credentials_identifier: ${CONTROL_CHARACTER_REASON}`);
    const context = `identities:${ids.join(',')}:${identifier ?? ''}`;
    const token = queryString(req, 'page_token');
    const afterId = token ? (await deps.pageTokens.open<{ after: string }>(context, token)).after : undefined;
    const normalized = identifier === undefined ? undefined : normalizeIdentifier(identifier, identifier.includes('@') ? 'email' : 'text');
    const pageIds = await deps.repository.listIds({
      limit: pageSize + 1,
      afterId,
      ids: ids.length > 0 ? ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)) : undefined,
      credentialsIdentifier: normalized,
    });
    const hasNext = pageIds.length > pageSize;
    const records = await deps.repository.getMany(pageIds.slice(0, pageSize));
    const include = includeCredential(req);
    const credentials = include.length > 0 ? include : identifier !== undefined ? 'types' : false;
    const next = hasNext ? await deps.pageTokens.seal(context, { after: records[records.length - 1].id }) : undefined;
    res.setHeader('Link', paginationLinks(new URL('admin/identities', deps.adminBaseUrl()), req, pageSize, next));
    res.json(records.map((r) => json(r, credentials)));
  });

  router.post('/admin/identities', async (req: Request, res: Response) => {
    const body = assertBody<IdentityInput>('admin/create-identity.json', req.body);
    await deps.guard.begin({ action: 'admin', ip: req.ip, points: 1 });
    const record = await deps.identities.create(body);
    res.status(201).setHeader('Location', location(record.id)).json(json(record, 'types'));
  });

  router.patch('/admin/identities', async (req: Request, res: Response) => {
    const body = assertBody<{ identities: Array<{ create: IdentityInput; patch_id?: string }> }>('admin/batch-identities.json', req.body);
    const plaintext = body.identities.filter((item) => item.create?.credentials?.password?.config?.password !== undefined).length;
    if (plaintext > MAX_BATCH_PLAINTEXT) {
      throw badRequest(`At most ${MAX_BATCH_PLAINTEXT} identities with plaintext passwords can be imported in one batch; use hashed_password for larger imports.`);
    }
    await deps.guard.begin({ action: 'admin', ip: req.ip, points: Math.max(1, body.identities.length) });
    const results = [];
    for (const item of body.identities) {
      const patchId = item.patch_id ?? crypto.randomUUID();
      try {
        const input = assertBody<IdentityInput>('admin/create-identity.json', item.create);
        const record = await deps.identities.create(input);
        results.push({ action: 'create', identity: record.id, patch_id: patchId });
      } catch (err) {
        if (!(err instanceof KratosError) || err.status >= 500) throw err;
        results.push({ action: 'error', patch_id: patchId, error: err.toJSON().error });
      }
    }
    res.json({ identities: results });
  });

  router.get('/admin/identities/by/external/:externalId', async (req: Request, res: Response) => {
    const record = await deps.identities.getByExternalId(String(req.params.externalId));
    const include = includeCredential(req);
    res.json(json(record, include.length > 0 ? include : 'types'));
  });

  router.get('/admin/identities/:id', async (req: Request, res: Response) => {
    const record = await deps.identities.get(String(req.params.id));
    const include = includeCredential(req);
    res.json(json(record, include.length > 0 ? include : 'types'));
  });

  router.put('/admin/identities/:id', async (req: Request, res: Response) => {
    const body = assertBody<IdentityInput>('admin/update-identity.json', req.body);
    const record = await deps.identities.replace(String(req.params.id), body);
    res.json(json(record, 'types'));
  });

  router.patch('/admin/identities/:id', async (req: Request, res: Response) => {
    const ops = assertBody<Operation[]>('admin/json-patch.json', req.body);
    for (const op of ops) {
      const paths = [op.path, 'from' in op ? op.from : undefined].filter((p): p is string => typeof p === 'string');
      if (paths.some((p) => PROTECTED_PATCH_PATHS.some((re) => re.test(p)))) {
        throw badRequest(`The path ${op.path} cannot be patched.`);
      }
    }
    const current = await deps.identities.get(String(req.params.id));
    const doc = json(current, false) as unknown as Record<string, unknown>;
    let patched: Record<string, unknown>;
    try {
      patched = fastJsonPatch.applyPatch(structuredClone(doc), ops, true, false).newDocument;
    } catch (err) {
      throw badRequest(`The JSON Patch could not be applied: ${(err as Error).message.split('\n')[0]}`);
    }
    const input: IdentityInput = {
      schema_id: patched.schema_id as string,
      traits: patched.traits as Record<string, unknown>,
      state: patched.state as IdentityInput['state'],
      metadata_public: patched.metadata_public,
      metadata_admin: patched.metadata_admin,
      external_id: (patched.external_id as string | undefined) ?? null,
    };
    assertBody('admin/update-identity.json', input);
    const record = await deps.identities.replace(current.id, input);
    res.json(json(record, 'types'));
  });

  router.delete('/admin/identities/:id', async (req: Request, res: Response) => {
    await deps.identities.delete(String(req.params.id));
    res.status(204).end();
  });

  router.delete('/admin/identities/:id/credentials/:type', async (req: Request, res: Response) => {
    await deps.identities.deleteCredential(String(req.params.id), String(req.params.type), queryString(req, 'identifier'));
    res.status(204).end();
  });

  return router;
}
