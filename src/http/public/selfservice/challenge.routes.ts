import { Router, type Request, type Response } from 'express';
import type { EntityManager } from '@mikro-orm/core';
import { fromPromise } from 'xstate';
import type { FlowEvent, MethodActorInput, UiMessage } from '../../../../machines/flow-types.ts';
import type { Registry } from '../../../registry.ts';
import { KratosError } from '../../../errors/kratos-error.ts';
import { projectFlow } from '../../../flows/flow-json.ts';
import type { SettledFlow } from '../../../flows/flow-runtime.ts';
import type { ChallengeFlowKind } from '../../../flows/flow-machines.ts';
import type { ChallengeContext } from '../../../methods/code/code-challenge.method.ts';
import { msg } from '../../../methods/method.ts';
import type { IssuedSession } from '../../../session/index.ts';
import { createFlowInspector } from '../../../../observability/flow-inspector.ts';
import { parseDuration } from '../../../x/duration.ts';
import { maskCsrfToken } from '../../../x/csrf-token.ts';
import { unflatten } from '../../../x/form-body.ts';
import { em as requestEm, queryString } from '../../middleware/request-context.ts';
import { runAfterWebHooks, runBeforeWebHooks } from './web-hook-context.ts';
import { loadIdentityRecord } from '../../../persistence/identity-repository.ts';
import {
  assertCsrf, assertNativeRequest, csrfViolation, currentSession, ensureCsrfToken, publicRequestUrl, readCsrfCookie,
  redirect, setSessionCookie, wantsJson,
} from './http-context.ts';

const KINDS: ChallengeFlowKind[] = ['recovery', 'verification'];
const EXPIRED: Record<ChallengeFlowKind, number> = { recovery: 4060005, verification: 4070005 };
const COMPLETED: Record<ChallengeFlowKind, number> = { recovery: 4060001, verification: 4070002 };
const NO_STRATEGY: Record<ChallengeFlowKind, number> = { recovery: 4010005, verification: 4010006 };

/**
 * Recovery and verification flows (Kratos paths and answers): a wrong code is a 200 with the flow, a form
 * problem a 400; e-mail links submit with GET (`&code=` / `&token=`).
 */
export function challengeFlowRoutes(registry: Registry): Router {
  const router = Router();
  const { config } = registry;
  const uiUrl = (kind: ChallengeFlowKind | 'settings' | 'error') =>
    config.selfservice.flows[kind]?.ui_url ?? new URL(kind, config.selfservice.default_browser_return_url).toString();
  const uiUrlFor = (kind: ChallengeFlowKind | 'settings', flowId: string) => {
    const url = new URL(uiUrl(kind));
    url.searchParams.set('flow', flowId);
    return url.toString();
  };
  const lifespanMs = (kind: ChallengeFlowKind) => parseDuration(config.selfservice.flows[kind]?.lifespan ?? '1h');
  const afterUrl = (kind: ChallengeFlowKind) =>
    (config.selfservice.flows[kind]?.after?.default_browser_return_url as string | undefined) ?? config.selfservice.default_browser_return_url;
  const inspector = (kind: ChallengeFlowKind, row: { id: string; type: string; state?: string }) =>
    createFlowInspector(registry.metrics, kind, { flowId: row.id, flowType: row.type, fromState: row.state });

  const project = (settled: SettledFlow, req: Request, res: Response, extra: { continueWith?: unknown[] } = {}) => {
    const kind = settled.row.kind as ChallengeFlowKind;
    const csrfValue = settled.row.type === 'browser' ? maskCsrfToken(ensureCsrfToken(registry, req, res)) : undefined;
    const continueUrl = kind === 'verification' && settled.state === 'passed_challenge' ? settled.row.returnTo ?? afterUrl(kind) : undefined;
    return projectFlow(registry.flowJson, settled.row, settled.state, settled.context, { csrfValue, continueUrl, continueWith: extra.continueWith });
  };

  async function createFlow(em: EntityManager, req: Request, res: Response, kind: ChallengeFlowKind, type: 'api' | 'browser', options: { returnTo?: string; messages?: UiMessage[]; requestUrl?: string }) {
    const now = new Date();
    const id = crypto.randomUUID();
    const hooked = registry.webHooks.hasBefore(kind);
    const settled = await registry.flows.create(em, {
      id, kind, type, requestUrl: options.requestUrl ?? publicRequestUrl(registry, req), returnTo: options.returnTo,
      csrfToken: type === 'browser' ? ensureCsrfToken(registry, req, res) : undefined,
      issuedAt: now, expiresAt: new Date(now.getTime() + lifespanMs(kind)),
    }, { flowId: id, flowType: type, messages: options.messages }, { inspect: inspector(kind, { id, type }) }, { flush: !hooked });
    if (hooked) {
      // Before-hooks see the new flow before it is stored: a failing hook leaves no flow behind.
      await runBeforeWebHooks(registry, req, kind, () => project(settled, req, res));
      await em.flush();
    }
    registry.metrics.flowsStarted.inc({ flow: kind, type });
    return settled;
  }

  for (const kind of KINDS) {
    const enabled = () => config.selfservice.flows[kind].enabled === true;

    for (const type of ['api', 'browser'] as const) {
      router.get(`/self-service/${kind}/${type}`, async (req: Request, res: Response) => {
        if (!enabled()) throw new KratosError(400, 'self_service_flow_disabled', { reason: `The ${kind} flow is not enabled.` });
        const requested = queryString(req, 'return_to');
        const returnTo = requested ? registry.returnTo.resolve(requested) : undefined;
        if (kind === 'recovery' && (await currentSession(registry, req))) {
          if (type === 'browser' && !wantsJson(req)) return redirect(res, returnTo ?? afterUrl(kind), 302);
          throw new KratosError(400, 'session_already_available', { reason: 'A valid session was detected and thus recovery is not possible.' });
        }
        const settled = await createFlow(requestEm(res), req, res, kind, type, { returnTo });
        if (type === 'browser' && !wantsJson(req)) return redirect(res, uiUrlFor(kind, settled.row.id));
        res.json(project(settled, req, res));
      });
    }

    router.get(`/self-service/${kind}/flows`, async (req: Request, res: Response) => {
      const row = await registry.flows.load(requestEm(res), queryString(req, 'id') ?? '');
      if (!row || row.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
      if (row.type === 'browser') {
        const cookie = readCsrfCookie(registry, req);
        if (!cookie || !row.csrfToken || cookie !== row.csrfToken) throw csrfViolation();
      }
      if (row.expiresAt.getTime() < Date.now()) {
        throw new KratosError(410, 'self_service_flow_expired', { reason: 'The self-service flow has expired.' });
      }
      res.json(project(registry.flows.view(row), req, res));
    });

    const submitRoute = async (req: Request, res: Response) => {
      const em = requestEm(res);
      const viaLink = req.method === 'GET';
      let body: Record<string, unknown>;
      if (viaLink) {
        const code = queryString(req, 'code');
        const token = queryString(req, 'token');
        if (!code && !token) {
          // A bare flow link (e.g. from POST /admin/recovery/code) opens the flow in the UI.
          const id = queryString(req, 'flow') ?? '';
          return redirect(res, uiUrlFor(kind, id));
        }
        body = { method: token ? 'link' : 'code', ...(code ? { code } : {}), ...(token ? { token } : {}) };
      } else {
        if (!req.is('application/json') && !req.is('application/x-www-form-urlencoded')) {
          throw new KratosError(415, undefined, { reason: 'Submit the flow as application/json or application/x-www-form-urlencoded.' });
        }
        body = req.is('application/x-www-form-urlencoded') ? unflatten(req.body as Record<string, unknown>) : (req.body ?? {});
      }
      const row = await registry.flows.load(em, queryString(req, 'flow') ?? '');
      if (!row || row.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
      const json = wantsJson(req) && !viaLink;
      const htmlBrowser = row.type === 'browser' && !json;
      if (!viaLink) {
        if (row.type === 'browser') assertCsrf(registry, req, body);
        else assertNativeRequest(req);
      }
      if (row.expiresAt.getTime() < Date.now() || registry.flows.view(row).done) {
        const expired = row.expiresAt.getTime() < Date.now();
        if (expired) registry.metrics.flowsExpired.inc({ flow: kind, type: row.type });
        const fresh = await createFlow(em, req, res, kind, row.type, {
          returnTo: row.returnTo ?? undefined, requestUrl: row.requestUrl,
          messages: [expired ? msg(EXPIRED[kind], { expired_at: row.expiresAt.toISOString(), expired_at_unix: Math.floor(row.expiresAt.getTime() / 1000) }) : msg(COMPLETED[kind])],
        });
        if (htmlBrowser || viaLink) return redirect(res, row.type === 'browser' ? uiUrlFor(kind, fresh.row.id) : new URL(`self-service/${kind}/flows?id=${fresh.row.id}`, registry.urls.public).toString());
        if (expired) {
          throw new KratosError(410, 'self_service_flow_expired', {
            reason: 'The self-service flow has expired, initialize a new one.',
            beside: { expired_at: row.expiresAt.toISOString(), since: (Date.now() - row.expiresAt.getTime()) * 1_000_000, use_flow_id: fresh.row.id },
          });
        }
        res.status(200).json(project(fresh, req, res));
        return;
      }

      const method = typeof body.method === 'string' ? body.method : '';
      const challenge = registry.challengeMethod(kind);
      let issued: IssuedSession | undefined;
      let fatal: unknown;
      const csrfToken = row.type === 'browser' ? readCsrfCookie(registry, req) : undefined;
      const event: FlowEvent = { type: 'method.submit', method, payload: body };
      const { settled } = await registry.flows.submit(row.id, event, () => {}, (attemptEm, freshRow) => {
        issued = undefined;
        fatal = undefined;
        const ctx = (): ChallengeContext => ({
          em: attemptEm, flowId: freshRow.id, flowType: freshRow.type, csrfToken,
          values: registry.flows.view(freshRow).context.values,
          onSessionIssued: (s) => { issued = s; },
        });
        const guarded = (fn: (input: MethodActorInput) => Promise<unknown>) => fromPromise(async ({ input }: { input: MethodActorInput }) => {
          try {
            return await fn(input);
          } catch (err) {
            fatal ??= err;
            throw err;
          }
        });
        const refuse = async () => ({ kind: 'rejected' as const, values: registry.flows.view(freshRow).context.values, messages: [msg(NO_STRATEGY[kind])] });
        return {
          actors: {
            sendCode: guarded((input) => (input.method === challenge.id ? challenge.send(ctx(), input.payload) : refuse())),
            // Any issued secret may be checked: admin recovery links work whichever method the flow offers.
            checkCode: guarded((input) => (input.method === 'code' || input.method === 'link' ? challenge.check(ctx(), input.payload) : refuse())),
          },
          inspect: inspector(kind, freshRow),
          fatal: () => fatal,
        };
      });
      await respond(req, res, kind, settled, issued, json, htmlBrowser, viaLink);
    };
    router.post(`/self-service/${kind}`, submitRoute);
    router.get(`/self-service/${kind}`, submitRoute);
  }

  async function respond(req: Request, res: Response, kind: ChallengeFlowKind, settled: SettledFlow, issued: IssuedSession | undefined, json: boolean, htmlBrowser: boolean, viaLink: boolean) {
    const { row } = settled;
    if (settled.done) registry.metrics.flowsCompleted.inc({ flow: kind, type: row.type });
    if (settled.state === 'passed_challenge') {
      const em = requestEm(res).fork();
      const identityId = settled.context.identityId;
      await runAfterWebHooks(registry, req, kind, settled.context.active, {
        flow: () => project(settled, req, res), issued,
        identity: async () => (identityId ? (await loadIdentityRecord(em, identityId)) ?? undefined : undefined),
      });
    }
    if (kind === 'recovery' && settled.state === 'passed_challenge' && settled.context.continueFlowId) {
      const settingsUrl = uiUrlFor('settings', settled.context.continueFlowId);
      if (row.type === 'browser' && issued) setSessionCookie(registry, res, issued.token, issued.session.expiresAt);
      if (htmlBrowser || viaLink) return redirect(res, settingsUrl);
      if (row.type === 'browser') {
        throw new KratosError(422, 'browser_location_change_required', {
          reason: 'In order to complete this flow please redirect the browser to: ' + settingsUrl,
          beside: { redirect_browser_to: settingsUrl },
        });
      }
      res.status(200).json(project(settled, req, res, {
        continueWith: [
          ...(issued ? [{ action: 'set_ory_session_token', ory_session_token: issued.token }] : []),
          { action: 'show_settings_ui', flow: { id: settled.context.continueFlowId, url: settingsUrl } },
        ],
      }));
      return;
    }
    if (htmlBrowser || viaLink) return redirect(res, uiUrlFor(kind, row.id));
    const formProblem = Object.keys(settled.context.fieldMessages).length > 0;
    res.status(formProblem ? 400 : 200).json(project(settled, req, res));
  }

  return router;
}
