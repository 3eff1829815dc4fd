import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { badRequest, notFound, selfServiceFlowDisabled } from '../../errors/kratos-error.ts';
import { assertBody } from '../../x/body-validator.ts';
import { parseDuration } from '../../x/duration.ts';
import { queryString } from '../middleware/request-context.ts';

interface RecoveryBody {
  identity_id: string;
  expires_in?: string;
  flow_type?: 'api' | 'browser';
}

/**
 * `POST /admin/recovery/code` and `/admin/recovery/link`: an administrator creates a recovery flow for an
 * identity with a code (entered in the recovery UI) or a single-use link. `expires_in` (Go duration) bounds both
 * the flow and the secret.
 */
export function adminRecoveryRoutes(registry: Registry): Router {
  const router = Router();

  async function issue(req: Request, res: Response, kind: 'code' | 'link') {
    const body = assertBody<RecoveryBody>('admin/create-recovery.json', req.body);
    if (!registry.config.selfservice.flows.recovery.enabled) {
      throw selfServiceFlowDisabled('The recovery flow is not enabled.');
    }
    let lifespanMs: number;
    try {
      lifespanMs = parseDuration(body.expires_in ?? registry.config.selfservice.methods[kind].config?.lifespan ?? '1h');
    } catch {
      throw badRequest(`expires_in "${body.expires_in}" is not a valid duration (e.g. "15m", "1h").`);
    }
    if (lifespanMs <= 0) throw badRequest('expires_in must be positive.');
    const identity = await registry.identities.get(body.identity_id).catch(() => {
      throw notFound('The identity could not be found.');
    });
    const address = identity.recoveryAddresses[0]?.value ?? identity.verifiableAddresses[0]?.value;
    if (!address) throw badRequest('The identity has no recovery address.');
    const expiresAt = new Date(registry.clock.now().getTime() + lifespanMs);
    const type = kind === 'link' ? 'browser' : body.flow_type ?? 'browser';
    const requested = queryString(req, 'return_to');
    const returnTo = requested ? registry.returnTo.resolve(requested) : undefined;
    const { flowId, secret } = await registry.flowService.issueRecovery({ identity, address, kind, flowType: type, returnTo, expiresAt });
    const link = new URL('self-service/recovery', registry.urls.public);
    link.searchParams.set('flow', flowId);
    if (kind === 'link') {
      link.searchParams.set('token', secret);
      res.status(200).json({ recovery_link: link.toString(), expires_at: expiresAt.toISOString() });
    } else {
      res.status(201).json({ recovery_link: link.toString(), recovery_code: secret, expires_at: expiresAt.toISOString() });
    }
  }

  router.post('/admin/recovery/code', (req, res) => issue(req, res, 'code'));
  router.post('/admin/recovery/link', (req, res) => issue(req, res, 'link'));
  return router;
}
