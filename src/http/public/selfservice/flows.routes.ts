import { Router, type Request, type Response } from 'express';
import type { EntityManager } from '@mikro-orm/core';
import type { FlowRow } from '../../../../entities/index.ts';
import type { FlowEvent, FlowInput, Outcome, UiMessage } from '../../../../machines/flow-types.ts';
import type { Registry } from '../../../registry.ts';
import { KratosError } from '../../../errors/kratos-error.ts';
import { createFlowScope, type FlowEffects } from '../../../flows/flow-effects.ts';
import { afterHooks } from '../../../flows/hooks.ts';
import { projectFlow } from '../../../flows/flow-json.ts';
import type { SettledFlow } from '../../../flows/flow-runtime.ts';
import type { MachineFlowKind } from '../../../flows/flow-machines.ts';
import { RefreshRequired } from '../../../methods/password/password.method.ts';
import { msg } from '../../../methods/method.ts';
import { loadIdentityRecord } from '../../../persistence/identity-repository.ts';
import { toIdentityJson } from '../../../identity/identity-json.ts';
import type { IdentityRecord } from '../../../identity/identity.ts';
import { createFlowInspector } from '../../../../observability/flow-inspector.ts';
import { parseDuration } from '../../../x/duration.ts';
import { maskCsrfToken } from '../../../x/csrf-token.ts';
import { unflatten } from '../../../x/form-body.ts';
import { toSessionJson } from '../../../session/index.ts';
import { em as requestEm, queryString } from '../../middleware/request-context.ts';
import { runAfterWebHooks, runBeforeWebHooks } from './web-hook-context.ts';
import {
  assertCsrf, assertNativeRequest, csrfViolation, currentSession, deviceOf, ensureCsrfToken, forwardToErrorUi,
  publicRequestUrl, readCsrfCookie, redirect, setSessionCookie, wantsJson, type RequestSession,
} from './http-context.ts';

const KINDS: MachineFlowKind[] = ['login', 'registration', 'settings'];
const EXPIRED_MESSAGE: Record<MachineFlowKind, number> = { login: 4010001, registration: 4040001, settings: 4050001 };
const COMPLETED_MESSAGE: Record<MachineFlowKind, number> = { login: 4010007, registration: 4040002, settings: 4050001 };

type FlowType = 'api' | 'browser';

/** Self-service login, registration and settings flows on Kratos's paths, with Kratos's answers. */
export function selfServiceFlowRoutes(registry: Registry): Router {
  const router = Router();
  const { config } = registry;

  const uiUrl = (kind: MachineFlowKind | 'error') =>
    config.selfservice.flows[kind]?.ui_url ?? new URL(kind, config.selfservice.default_browser_return_url).toString();
  const uiUrlFor = (kind: MachineFlowKind, flowId: string) => {
    const url = new URL(uiUrl(kind));
    url.searchParams.set('flow', flowId);
    return url.toString();
  };
  const afterUrl = (kind: MachineFlowKind, method?: string): string => {
    const after = config.selfservice.flows[kind]?.after as Record<string, { default_browser_return_url?: string } | string | undefined> | undefined;
    const perMethod = method ? (after?.[method] as { default_browser_return_url?: string } | undefined)?.default_browser_return_url : undefined;
    return perMethod ?? (after?.default_browser_return_url as string | undefined) ?? config.selfservice.default_browser_return_url;
  };
  const verificationUiUrl = (flowId: string) => {
    const url = new URL(config.selfservice.flows.verification.ui_url ?? new URL('verification', config.selfservice.default_browser_return_url).toString());
    url.searchParams.set('flow', flowId);
    return url.toString();
  };
  /** `show_verification_ui` items for the verification flows a submit started. */
  const verificationContinueWith = (started: FlowEffects['verificationFlows']) =>
    (started ?? []).map((v) => ({ action: 'show_verification_ui', flow: { id: v.flowId, verifiable_address: v.address, url: verificationUiUrl(v.flowId) } }));
  const lifespanMs = (kind: MachineFlowKind) => parseDuration(config.selfservice.flows[kind]?.lifespan ?? '1h');
  const identityJson = (record: IdentityRecord) => toIdentityJson(record, { schemaUrl: registry.schemaUrl, admin: false, credentials: false });
  const inspector = (kind: MachineFlowKind, row: { id: string; type: string; state?: string }) =>
    createFlowInspector(registry.metrics, kind, { flowId: row.id, flowType: row.type, fromState: row.state });

  const project = (settled: SettledFlow, req: Request, res: Response, identity?: IdentityRecord, extra: { messages?: UiMessage[]; continueWith?: unknown[] } = {}) => {
    const csrfValue = settled.row.type === 'browser' ? maskCsrfToken(ensureCsrfToken(registry, req, res)) : undefined;
    const context = extra.messages ? { ...settled.context, messages: [...settled.context.messages, ...extra.messages] } : settled.context;
    return projectFlow(registry.flowJson, settled.row, settled.state, context, { csrfValue, identity: identity ?? undefined, continueWith: extra.continueWith });
  };

  /** Browser + HTML: errors are stored and shown by the error UI; everyone else gets the JSON error. */
  async function failBrowser(req: Request, res: Response, em: EntityManager, err: KratosError): Promise<void> {
    // A re-authentication demand is a navigation, not an error page (Kratos settings `reauthenticate`).
    const to = err.beside?.redirect_browser_to;
    if (err.id === 'session_refresh_required' && typeof to === 'string') return redirect(res, to);
    await forwardToErrorUi(registry, req, res, em, err);
  }

  async function settingsOwner(req: Request, type: FlowType): Promise<RequestSession> {
    const current = await currentSession(registry, req);
    if (!current) {
      throw new KratosError(401, 'session_inactive', { reason: 'No valid session credentials found in the request.' });
    }
    if (type === 'api' && current.source === 'cookie') {
      throw new KratosError(400, undefined, { reason: 'API-based settings flows need the session token in the X-Session-Token header.' });
    }
    return current;
  }

  async function createFlow(
    em: EntityManager, req: Request, res: Response, kind: MachineFlowKind, type: FlowType,
    options: { returnTo?: string; identityId?: string; identity?: IdentityRecord; refresh?: boolean; messages?: UiMessage[]; requestUrl?: string },
  ): Promise<SettledFlow> {
    const now = new Date();
    const id = crypto.randomUUID();
    const input: FlowInput = {
      flowId: id, flowType: type, identityId: options.identityId, schemaId: registry.schemas.defaultId,
      refresh: options.refresh, requestedAal: 'aal1', messages: options.messages,
      issueSession: kind === 'registration' && registrationIssuesSession(registry),
    };
    const csrfToken = type === 'browser' ? ensureCsrfToken(registry, req, res) : undefined;
    const hooked = registry.webHooks.hasBefore(kind);
    const settled = await registry.flows.create(em, {
      id, kind, type, requestUrl: options.requestUrl ?? publicRequestUrl(registry, req), returnTo: options.returnTo,
      csrfToken, identityId: options.identityId, issuedAt: now, expiresAt: new Date(now.getTime() + lifespanMs(kind)),
    }, input, { inspect: inspector(kind, { id, type }) }, { flush: !hooked });
    if (hooked) {
      // Kratos runs before-hooks on the new flow before storing it: a failing hook leaves no flow behind.
      const identity = kind !== 'settings' ? undefined
        : options.identity ?? (options.identityId ? (await loadIdentityRecord(em, options.identityId)) ?? undefined : undefined);
      await runBeforeWebHooks(registry, req, kind, () => project(settled, req, res, identity));
      await em.flush();
    }
    registry.metrics.flowsStarted.inc({ flow: kind, type });
    return settled;
  }

  /** Kratos forwards browser init errors (return_to forbidden, disabled, ...) to the error UI for HTML clients. */
  const forwardInitErrors = (type: FlowType, handler: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await handler(req, res);
      } catch (err) {
        if (type === 'browser' && !wantsJson(req) && err instanceof KratosError) return failBrowser(req, res, requestEm(res).fork(), err);
        throw err;
      }
    };

  for (const kind of KINDS) {
    for (const type of ['api', 'browser'] as const) {
      router.get(`/self-service/${kind}/${type}`, forwardInitErrors(type, async (req: Request, res: Response) => {
        const em = requestEm(res);
        if (kind === 'registration' && config.selfservice.flows.registration.enabled === false) {
          throw new KratosError(400, 'self_service_flow_disabled', { reason: 'Registration is not allowed because it was disabled.' });
        }
        const requestedReturnTo = queryString(req, 'return_to');
        const returnTo = requestedReturnTo ? registry.returnTo.resolve(requestedReturnTo) : undefined;
        const refresh = queryString(req, 'refresh') === 'true';
        const aal = queryString(req, 'aal');
        const current = await currentSession(registry, req);
        let identity: IdentityRecord | undefined;
        if (kind === 'login') {
          if (aal === 'aal2') {
            if (!current) throw new KratosError(401, 'session_aal1_required', { reason: 'You can not requested a higher AAL (AAL2/AAL3) without an active session.' });
            throw new KratosError(400, undefined, { reason: 'No second authentication factor is available for this account.' });
          }
          if (current && !refresh) {
            if (type === 'browser' && !wantsJson(req)) return redirect(res, returnTo ?? afterUrl('login'));
            throw new KratosError(400, 'session_already_available', { reason: 'A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?' });
          }
        } else if (kind === 'registration') {
          if (current) {
            if (type === 'browser' && !wantsJson(req)) return redirect(res, returnTo ?? afterUrl('registration'));
            throw new KratosError(400, 'session_already_available', { reason: 'A valid session was detected and thus registration is not possible.' });
          }
        } else {
          let owner: RequestSession;
          try {
            owner = await settingsOwner(req, type);
          } catch (err) {
            if (type === 'browser' && !wantsJson(req) && err instanceof KratosError && err.status === 401) {
              const login = new URL('self-service/login/browser', registry.urls.public);
              login.searchParams.set('return_to', publicRequestUrl(registry, req));
              return redirect(res, login.toString());
            }
            throw err;
          }
          identity = (await loadIdentityRecord(em, owner.session.identityId)) ?? undefined;
          if (!identity) throw new KratosError(401, 'session_inactive', { reason: 'The session identity no longer exists.' });
        }
        const settled = await createFlow(em, req, res, kind, type, {
          returnTo, refresh, identityId: identity?.id, identity,
          messages: kind === 'login' && refresh ? [msg(1010003)] : undefined,
        });
        if (type === 'browser' && !wantsJson(req)) return redirect(res, uiUrlFor(kind, settled.row.id));
        res.json(project(settled, req, res, identity));
      }));
    }

    router.get(`/self-service/${kind}/flows`, async (req: Request, res: Response) => {
      const em = requestEm(res);
      const row = await registry.flows.load(em, queryString(req, 'id') ?? '');
      if (!row || row.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
      if (row.type === 'browser') {
        // A pasted flow URL leaks nothing: reading a browser flow needs the CSRF cookie it was issued with.
        const cookie = readCsrfCookie(registry, req);
        if (!cookie || !row.csrfToken || cookie !== row.csrfToken) throw csrfViolation();
      }
      let identity: IdentityRecord | undefined;
      if (kind === 'settings') {
        const owner = await settingsOwner(req, row.type);
        if (owner.session.identityId !== row.identityId) {
          throw new KratosError(403, 'security_identity_mismatch', { reason: 'The flow was interrupted because the session does not belong to the flow\'s identity.' });
        }
        identity = (await loadIdentityRecord(em, owner.session.identityId)) ?? undefined;
      }
      if (row.expiresAt.getTime() < Date.now()) {
        throw new KratosError(410, 'self_service_flow_expired', {
          reason: 'The self-service flow has expired.',
          details: row.type === 'browser'
            ? { redirect_to: new URL(`self-service/${kind}/browser`, registry.urls.public).toString() }
            : { api: new URL(`self-service/${kind}/api`, registry.urls.public).toString() },
        });
      }
      res.json(project(registry.flows.view(row), req, res, identity));
    });

    router.post(`/self-service/${kind}`, async (req: Request, res: Response) => {
      const em = requestEm(res);
      const body = req.is('application/x-www-form-urlencoded') ? unflatten(req.body as Record<string, unknown>) : (req.body ?? {});
      if (typeof body !== 'object' || Array.isArray(body) || body === null) {
        throw new KratosError(400, undefined, { reason: 'The request body must be a JSON object or a form.' });
      }
      if (!req.is('application/json') && !req.is('application/x-www-form-urlencoded')) {
        throw new KratosError(415, undefined, { reason: 'Submit the flow as application/json or application/x-www-form-urlencoded.' });
      }
      const flowId = queryString(req, 'flow') ?? '';
      const row = await registry.flows.load(em, flowId);
      if (!row || row.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
      const json = wantsJson(req);
      const htmlBrowser = row.type === 'browser' && !json;
      try {
        await submit(req, res, em, kind, row, body as Record<string, unknown>, json);
      } catch (err) {
        if (htmlBrowser && err instanceof KratosError && err.status !== 410) return failBrowser(req, res, em.fork(), err);
        throw err;
      }
    });
  }

  /**
   * Kratos's after-hooks that belong to the verification flow: the implicit verification mail after registration
   * and after an address change in settings, and `require_verified_address` on login.
   */
  const afterOutcome = (req: Request, row: FlowRow) => async (em: EntityManager, outcome: Outcome): Promise<Partial<FlowEffects> | void> => {
    const verificationOn = config.selfservice.flows.verification.enabled === true;
    const start = async (identityId: string, addresses: string[]) => {
      const started: Array<{ flowId: string; address: string }> = [];
      for (const address of addresses) {
        const flowId = await registry.challengeMethod('verification').startFor(em, {
          identityId, address, flowType: row.type, csrfToken: row.type === 'browser' ? readCsrfCookie(registry, req) : undefined,
        });
        started.push({ flowId, address });
      }
      return started;
    };
    if ((outcome.kind === 'registered' || outcome.kind === 'updated') && verificationOn && outcome.unverifiedAddresses?.length) {
      const identityId = outcome.kind === 'registered' ? outcome.identityId : row.identityId!;
      return { verificationFlows: await start(identityId, outcome.unverifiedAddresses) };
    }
    if (outcome.kind === 'authenticated' && afterHooks(config, 'login', outcome.method).includes('require_verified_address')) {
      const identity = await loadIdentityRecord(em, outcome.identityId);
      if (identity && !identity.verifiableAddresses.some((a) => a.verified)) {
        const address = identity.verifiableAddresses.find((a) => a.via === 'email')?.value;
        throw new VerifiedAddressRequired(identity.id, address);
      }
    }
  };

  async function submit(req: Request, res: Response, em: EntityManager, kind: MachineFlowKind, row: FlowRow, body: Record<string, unknown>, json: boolean): Promise<void> {
    const htmlBrowser = row.type === 'browser' && !json;
    if (row.type === 'browser') assertCsrf(registry, req, body);
    else {
      try {
        assertNativeRequest(req);
      } catch (err) {
        // Kratos raises this inside the strategy, so a 400 error becomes message 4000001 on a 400 flow.
        if (!(err instanceof KratosError) || err.status !== 400 || kind === 'settings') throw err;
        res.status(400).json(project(registry.flows.view(row), req, res, undefined, { messages: [msg(4000001, { reason: err.reason })] }));
        return;
      }
    }

    if (row.expiresAt.getTime() < Date.now()) {
      registry.metrics.flowsExpired.inc({ flow: kind, type: row.type });
      const identityId = row.identityId ?? undefined;
      const fresh = await createFlow(em, req, res, kind, row.type, {
        returnTo: row.returnTo ?? undefined, identityId, requestUrl: row.requestUrl,
        messages: [msg(EXPIRED_MESSAGE[kind], { expired_at: row.expiresAt.toISOString(), expired_at_unix: Math.floor(row.expiresAt.getTime() / 1000) })],
      });
      if (htmlBrowser) return redirect(res, uiUrlFor(kind, fresh.row.id));
      throw new KratosError(410, 'self_service_flow_expired', {
        reason: `The self-service flow expired ${((Date.now() - row.expiresAt.getTime()) / 60000).toFixed(2)} minutes ago, initialize a new one.`,
        beside: {
          expired_at: row.expiresAt.toISOString(),
          since: (Date.now() - row.expiresAt.getTime()) * 1_000_000,
          use_flow_id: fresh.row.id,
        },
      });
    }

    const method = typeof body.method === 'string' ? body.method : '';
    const current = await currentSession(registry, req);
    let owner: RequestSession | undefined;
    if (kind === 'settings') {
      owner = await settingsOwner(req, row.type);
      if (owner.session.identityId !== row.identityId) {
        throw new KratosError(403, 'security_identity_mismatch', { reason: 'The flow was interrupted because the session does not belong to the flow\'s identity.' });
      }
    } else if (kind === 'registration' && current) {
      if (htmlBrowser) return redirect(res, row.returnTo ?? afterUrl('registration'), 302);
      throw new KratosError(400, 'session_already_available', { reason: 'A valid session was detected and thus registration is not possible.' });
    }
    const view = registry.flows.view(row);
    if (kind === 'login' && current && !view.context.refresh) {
      if (htmlBrowser) return redirect(res, row.returnTo ?? afterUrl('login'));
      res.status(400).json(project(view, req, res, undefined, { messages: [msg(4000001, { reason: 'A valid session was detected and thus login is not possible.' })] }));
      return;
    }
    if (view.done) {
      if (htmlBrowser) return redirect(res, uiUrlFor(kind, row.id));
      res.status(400).json(project(view, req, res, undefined, { messages: [msg(COMPLETED_MESSAGE[kind])] }));
      return;
    }

    const privilegedMaxAge = parseDuration(config.selfservice.flows.settings.privileged_session_max_age);
    const event: FlowEvent = { type: 'method.submit', method, payload: body };
    let effects: ReturnType<typeof createFlowScope>['effects'] = {};
    let settled: SettledFlow;
    try {
      ({ settled } = await registry.flows.submit(
        row.id,
        event,
        (fresh) => {
          if (fresh.done) throw new KratosError(400, undefined, { reason: 'This flow has already been completed; start a new one.' });
        },
        async (attemptEm, freshRow) => {
          // Settings methods work on the owner's identity as loaded through this attempt's EntityManager.
          const identity = kind === 'settings' ? (await loadIdentityRecord(attemptEm, freshRow.identityId!)) ?? undefined : undefined;
          if (kind === 'settings' && !identity) throw new KratosError(401, 'session_inactive', { reason: 'The session identity no longer exists.' });
          const built = createFlowScope({ methods: registry.methodsFor(kind), sessions: registry.sessions, afterOutcome: afterOutcome(req, freshRow) }, {
            kind, em: attemptEm, device: deviceOf(req), identity, sessionId: owner?.session.id,
            privileged: owner ? Date.now() - owner.session.authenticatedAt.getTime() <= privilegedMaxAge : undefined,
          }, inspector(kind, freshRow));
          effects = built.effects;
          return built.scope;
        },
      ));
    } catch (err) {
      if (err instanceof VerifiedAddressRequired) {
        const fork = requestEm(res).fork();
        const started = err.address
          ? await registry.challengeMethod('verification').startFor(fork, { identityId: err.identityId, address: err.address, flowType: row.type, csrfToken: row.type === 'browser' ? readCsrfCookie(registry, req) : undefined })
          : undefined;
        await fork.flush();
        const url = started ? verificationUiUrl(started) : undefined;
        if (htmlBrowser && url) return redirect(res, url);
        throw new KratosError(403, 'session_verified_address_required', {
          reason: 'Your account\'s email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.',
          details: started ? { continue_with: [{ action: 'show_verification_ui', flow: { id: started, verifiable_address: err.address, url } }] } : undefined,
        });
      }
      if (err instanceof RefreshRequired) {
        const login = new URL('self-service/login/browser', registry.urls.public);
        login.searchParams.set('refresh', 'true');
        // Back through the settings init endpoint (a self-service URL, always an allowed return_to; the settings
        // UI need not be allow-listed), keeping the flow's own return_to.
        const settingsInit = new URL('self-service/settings/browser', registry.urls.public);
        if (row.returnTo) settingsInit.searchParams.set('return_to', row.returnTo);
        login.searchParams.set('return_to', settingsInit.toString());
        throw new KratosError(403, 'session_refresh_required', {
          reason: 'The login session is too old and thus not allowed to update these fields. Please re-authenticate.',
          beside: { redirect_browser_to: login.toString() },
        });
      }
      registry.metrics.flowsFailed.inc({ flow: kind, type: row.type });
      throw err;
    }
    await respond(req, res, kind, settled, effects, json, current);
  }

  async function respond(
    req: Request, res: Response, kind: MachineFlowKind, settled: SettledFlow,
    effects: Pick<FlowEffects, 'issued' | 'verificationFlows'>,
    json: boolean, previous: RequestSession | undefined,
  ): Promise<void> {
    const { row } = settled;
    const htmlBrowser = row.type === 'browser' && !json;
    const em = requestEm(res).fork();
    const completed = settled.done || (kind === 'settings' && settled.state === 'success' && settled.context.messages.some((m) => m.id === 1050001));
    if (completed) registry.metrics.flowsCompleted.inc({ flow: kind, type: row.type });

    if (!completed) {
      if (htmlBrowser) return redirect(res, uiUrlFor(kind, row.id));
      const identity = kind === 'settings' && row.identityId ? (await loadIdentityRecord(em, row.identityId)) ?? undefined : undefined;
      res.status(400).json(project(settled, req, res, identity));
      return;
    }

    const issued = effects.issued;
    // The flow's identity, loaded at most once for the web hooks and the answer.
    let loaded: Promise<IdentityRecord | undefined> | undefined;
    const flowIdentity = () => (loaded ??= loadIdentityRecord(em, (settled.context.identityId ?? row.identityId)!).then((r) => r ?? undefined));
    await runAfterWebHooks(registry, req, kind, settled.context.active, {
      flow: (identity) => project(settled, req, res, kind === 'settings' ? identity : undefined), identity: flowIdentity, issued,
    });
    if (issued && previous && previous.session.identityId) {
      // Re-authentication replaces the old session: a token planted before login never survives it.
      await registry.sessions.revokeByToken(em, previous.token);
    }
    if (issued && row.type === 'browser') {
      setSessionCookie(registry, res, issued.token, issued.session.expiresAt);
      ensureCsrfToken(registry, req, res, true);
    }
    const returnTo = row.returnTo ?? afterUrl(kind, settled.context.active);

    const verification = verificationContinueWith(effects.verificationFlows);
    const showVerification = kind === 'registration' && afterHooks(config, 'registration', settled.context.active ?? 'password').includes('show_verification_ui');

    if (kind === 'settings') {
      if (htmlBrowser) return redirect(res, uiUrlFor('settings', row.id));
      const identity = await flowIdentity();
      const continueWith = [
        ...verification,
        ...(row.type === 'browser' ? [{ action: 'redirect_browser_to', redirect_browser_to: row.returnTo ?? uiUrlFor('settings', row.id) }] : []),
      ];
      res.status(200).json(project(settled, req, res, identity, { continueWith: continueWith.length > 0 ? continueWith : undefined }));
      return;
    }
    if (htmlBrowser) return redirect(res, showVerification && verification.length > 0 ? verification[0].flow.url : returnTo);

    const sessionJson = async () => {
      if (!issued) return undefined;
      const active = await registry.sessions.findByToken(issued.token);
      return active ? toSessionJson(active, { includeIdentity: true, schemaUrl: registry.schemaUrl }) : undefined;
    };
    const continueWith: unknown[] = row.type === 'browser'
      ? [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }]
      : [];
    if (kind === 'login') {
      const session = await sessionJson();
      res.status(200).json({
        session,
        ...(row.type === 'api' && issued ? { session_token: issued.token } : {}),
        continue_with: continueWith,
      });
      return;
    }
    const identity = await flowIdentity();
    const session = await sessionJson();
    if (showVerification) continueWith.unshift(...verification);
    if (row.type === 'api' && issued) continueWith.unshift({ action: 'set_ory_session_token', ory_session_token: issued.token });
    res.status(200).json({
      identity: identity ? identityJson(identity) : undefined,
      ...(session ? { session } : {}),
      ...(row.type === 'api' && issued ? { session_token: issued.token } : {}),
      continue_with: continueWith,
    });
  }

  return router;
}

/** `require_verified_address`: the identity authenticated but has no verified address. */
export class VerifiedAddressRequired extends Error {
  readonly identityId: string;
  readonly address?: string;
  constructor(identityId: string, address?: string) {
    super('session_verified_address_required');
    this.identityId = identityId;
    this.address = address;
  }
}

export function registrationIssuesSession(registry: Registry): boolean {
  return afterHooks(registry.config, 'registration', 'password').includes('session');
}
