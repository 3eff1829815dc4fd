/**
 * What the flow service answers: a finished flow per kind (Kratos's success bodies, continue_with, cookies, where
 * HTML browsers go), a flow to show again, and the replacements Kratos makes (expired, already completed, too many
 * code submissions).
 */
import type { UiMessage } from '../../machines/flow-types.ts';
import { KratosError, browserLocationChangeRequired, sessionRefreshRequired, sessionAlreadyAvailable, selfServiceFlowExpired, selfServiceFlowReplaced } from '../errors/kratos-error.ts';
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { FlowKind, FlowRecord } from '../persistence/store.ts';
import { credentialKinds, satisfiesAal } from '../session/aal.ts';
import { toSessionJson, type SessionJson } from '../session/session-json.ts';
import { MessageId } from '../text/ids.ts';
import type { MessageId as MessageIdValue } from '../text/ids.ts';
import { message } from '../text/message.ts';
import type { Actor, Attempt, FlowForms, Loaded } from './flow-forms.ts';
import type { FlowAnswer, RequestState } from './flow-request.ts';
import type { FlowServiceDeps } from './flow-deps.ts';
import { afterHooks } from './hooks.ts';
import { completedHookContext } from './flow-hooks.ts';

const EXPIRED: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginFlowExpired,
  registration: MessageId.ErrorValidationRegistrationFlowExpired,
  settings: MessageId.ErrorValidationSettingsFlowExpired,
  recovery: MessageId.ErrorValidationRecoveryFlowExpired,
  verification: MessageId.ErrorValidationVerificationFlowExpired,
};
const RETRY_SUCCESS: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginRetrySuccess,
  registration: MessageId.ErrorValidateionRegistrationRetrySuccess,
  settings: MessageId.ErrorValidationSettingsFlowExpired,
  recovery: MessageId.ErrorValidationRecoveryRetrySuccess,
  verification: MessageId.ErrorValidationVerificationRetrySuccess,
};

export class FlowAnswers {
  readonly #d: FlowServiceDeps;
  readonly #forms: FlowForms;

  constructor(deps: FlowServiceDeps, forms: FlowForms) {
    this.#d = deps;
    this.#forms = forms;
  }

  async completed(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, viaLink: boolean): Promise<FlowAnswer> {
    const { record, settled } = loaded;
    const outcome = work.outcome;
    if (outcome?.kind === 'exhausted') return this.replaceExhausted(kind, loaded, rq);
    if (outcome?.kind === 'needs_refresh') throw this.refreshRequired(record);
    if (outcome?.kind === 'tested') {
      this.#d.metrics.flowsCompleted.inc({ flow: kind, type: record.type });
      return { flowType: record.type, status: 303, body: undefined, browserLocation: this.testResultsUrl(record.id), cookies: rq.cookies };
    }
    if (outcome?.kind === 'redirect') {
      // Kratos: a browser is sent on (303); a JSON client is told where to send it (422).
      return { flowType: record.type, status: 422, body: browserLocationChangeRequired(outcome.to).toJSON(), browserLocation: outcome.to, cookies: rq.cookies };
    }
    const completed = settled.done
      || (kind === 'settings' && outcome?.kind === 'updated')
      || ((kind === 'recovery' || kind === 'verification') && settled.state === 'passed_challenge');
    if (!completed) {
      const formProblem = Object.keys(settled.context.fieldMessages).length > 0;
      // A settings method's own next screen (backup codes to confirm) is no error (Kratos ErrStrategyAsksToReturnToUI).
      const status = kind === 'recovery' || kind === 'verification' ? (formProblem ? 400 : 200) : kind === 'settings' && outcome?.kind === 'next_screen' ? 200 : 400;
      if (kind === 'login' && outcome?.kind === 'next_screen' && !outcome.asForm) {
        // Kratos: a browser goes to the login UI (303); a JSON client is told to send it there (422).
        const ui = this.#d.urls.uiFor('login', record.id);
        const error = browserLocationChangeRequired(ui);
        return { flowType: record.type, status: 422, body: error.toJSON(), browserLocation: ui, cookies: rq.cookies };
      }
      const answer = await this.flowAnswer(kind, loaded, rq, actor, status);
      // Kratos redirects registration form errors with 302 (a step change, and every other flow, with 303).
      return kind === 'registration' && outcome?.kind === 'rejected' ? { ...answer, browserStatus: 302 } : answer;
    }
    this.#d.metrics.flowsCompleted.inc({ flow: kind, type: record.type });
    const identityId = settled.context.identityId ?? record.identityId ?? undefined;
    // What the submit wrote, or the login method read (the submit changed nothing of it), is what a read after the
    // commit would return.
    const proven = work.outcome?.kind === 'authenticated' && work.outcome.identity?.id === identityId ? work.outcome.identity : undefined;
    let identity: IdentityRecord | undefined = work.identity?.record ?? work.clash ?? proven;
    const loadIdentity = async () => (identity ??= identityId ? (await this.#d.store.identities.get(identityId)) ?? undefined : undefined);
    const hookFlow = kind as 'login' | 'registration' | 'settings';
    // A flow stored before its hooks were configured has no pre-persist step: its hooks run here, after saving.
    const missedPrePersist = !work.clash && !work.hooksRan && kind !== 'recovery' && kind !== 'verification' && this.#d.webHooks.hasPrePersist(hookFlow, settled.context.active);
    // A mitigated clash created no identity: nothing for a web hook to act on.
    if (!work.clash && (this.#d.webHooks.has(kind, settled.context.active) || missedPrePersist)) {
      const ctx = await completedHookContext(this.#d, this.#forms, kind, loaded, rq, actor, work, await loadIdentity());
      if (missedPrePersist && (await this.#d.webHooks.runPrePersist(hookFlow, settled.context.active, ctx)).kind === 'interrupted') {
        // Too late to stop the flow: its changes are saved. The client learns that a hook refused.
        throw new KratosError(502, undefined, { reason: 'A web hook failed.' });
      }
      await this.#d.webHooks.runAfter(kind, settled.context.active, ctx);
    }
    if (work.issued && record.type === 'browser') rq.cookies.session = { token: work.issued.token, expiresAt: work.issued.session.expiresAt };
    if (work.upgraded && kind === 'login' && record.type === 'browser') {
      rq.cookies.session = { token: work.upgraded.token, expiresAt: work.upgraded.patch.expiresAt ?? work.upgraded.session.expiresAt };
    }
    const returnTo = record.returnTo ?? this.#d.urls.after(kind, settled.context.active);
    const verification = work.verificationFlows.map((v) => ({
      action: 'show_verification_ui',
      flow: { id: v.flowId, verifiable_address: v.address, ...(record.type === 'browser' ? { url: this.#d.urls.uiFor('verification', v.flowId) } : {}) },
    }));

    if (kind === 'settings') {
      const subject = await loadIdentity();
      // Kratos: the flow's return_to, else the configured after-settings URL, else the settings UI again.
      const settingsTo = record.returnTo ?? this.#d.urls.afterConfigured('settings', settled.context.active) ?? this.#d.urls.uiFor('settings', record.id);
      const continueWith = [
        ...(record.type === 'browser' ? [{ action: 'redirect_browser_to', redirect_browser_to: settingsTo }] : []),
        ...verification,
      ];
      const json = (await this.#forms.render(loaded, rq, { ...actor, identity: subject }, { continueWith: continueWith.length > 0 ? continueWith : undefined })).json;
      return { flowType: record.type, status: 200, body: json, browserLocation: settingsTo, cookies: rq.cookies };
    }
    if (kind === 'recovery') {
      const settingsUrl = this.#d.urls.uiFor('settings', settled.context.continueFlowId!);
      if (record.type === 'browser' || viaLink) {
        const error = browserLocationChangeRequired(settingsUrl);
        return { flowType: 'browser', status: 422, body: error.toJSON(), browserLocation: settingsUrl, cookies: rq.cookies };
      }
      const continueWith = [
        ...(work.issued ? [{ action: 'set_ory_session_token', ory_session_token: work.issued.token }] : []),
        { action: 'show_settings_ui', flow: { id: settled.context.continueFlowId, url: settingsUrl } },
      ];
      const json = (await this.#forms.render(loaded, rq, actor, { continueWith })).json;
      return { flowType: record.type, status: 200, body: json, cookies: rq.cookies };
    }
    if (kind === 'verification') {
      const json = (await this.#forms.render(loaded, rq, actor)).json;
      return { flowType: record.type, status: 200, body: json, browserLocation: this.#d.urls.uiFor('verification', record.id), cookies: rq.cookies };
    }

    if (work.exchange && (kind === 'login' || kind === 'registration')) {
      // Kratos MaybeRedirectAPICodeFlow: to the flow's return_to (else the default browser return URL) with `code`.
      const to = new URL(record.returnTo ?? this.#d.config.selfservice.default_browser_return_url);
      to.searchParams.set('code', work.exchange.returnToCode);
      return { flowType: record.type, status: 303, body: {}, browserLocation: to.toString(), cookies: rq.cookies };
    }
    const subject = await loadIdentity();
    const sessionView = work.issued?.session ?? (work.upgraded ? { ...work.upgraded.session, ...work.upgraded.patch } : undefined);
    const session = sessionView && subject ? toSessionJson({ ...sessionView, identity: subject }, { includeIdentity: true, schemaUrl: this.#d.schemaUrl }) : undefined;
    const issuedToken = work.issued?.token ?? work.upgraded?.token;
    const token = record.type === 'api' ? issuedToken : undefined;
    if (kind === 'login') {
      if (sessionView && subject && !satisfiesAal(sessionView.aal, this.#d.config.session.whoami.required_aal, credentialKinds(subject.credentials), this.#d.secondFactors)) {
        return this.secondFactorNext(record, rq, session!, token);
      }
      const continueWith = record.type === 'browser' ? [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }] : [];
      return {
        flowType: record.type, status: 200, body: { session, ...(token ? { session_token: token } : {}), continue_with: continueWith },
        browserLocation: returnTo, cookies: rq.cookies,
      };
    }
    // Registration (Kratos's continue_with order: browser [redirect, verification], API [verification, token]).
    const showVerification = afterHooks(this.#d.config, 'registration', settled.context.active ?? 'password').includes('show_verification_ui');
    const shownVerification = showVerification ? verification : [];
    const continueWith = record.type === 'browser'
      ? [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }, ...shownVerification]
      : [...shownVerification, ...(token ? [{ action: 'set_ory_session_token', ory_session_token: token }] : [])];
    const browserLocation = shownVerification.length > 0 ? this.#d.urls.uiFor('verification', work.verificationFlows[0].flowId) : returnTo;
    return {
      flowType: record.type,
      status: 200,
      body: {
        identity: subject ? toIdentityJson(subject, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) : undefined,
        ...(session ? { session } : {}),
        ...(token ? { session_token: token } : {}),
        continue_with: continueWith,
      },
      browserLocation,
      cookies: rq.cookies,
    };
  }

  /**
   * A first factor logged in an identity that has a second one while whoami requires `highest_available`: the aal1
   * session is issued (cookie set), and the client is sent on to the aal2 login (Kratos login/hook.go): an API client
   * gets the session without its identity (privacy: it proved one factor), a browser the aal2 login — by a 303, or a
   * 422 `browser_location_change_required` when it asked for JSON. The original return_to carries over.
   */
  secondFactorNext(record: FlowRecord, rq: RequestState, session: SessionJson, token: string | undefined): FlowAnswer {
    if (record.type === 'api') {
      return { flowType: 'api', status: 200, body: { session_token: token, session: { ...session, identity: null } }, cookies: rq.cookies };
    }
    const returnTo = record.returnTo ?? undefined;
    const to = this.#d.urls.endpoint('self-service/login/browser', { aal: 'aal2', ...(returnTo ? { return_to: returnTo } : {}) });
    const error = browserLocationChangeRequired(to);
    return { flowType: 'browser', status: 422, body: error.toJSON(), browserLocation: to, cookies: rq.cookies };
  }

  /** The flow as it stands (a form to show again): JSON clients get `status` and the flow, browsers its UI. */
  async flowAnswer(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, status: number, extra?: UiMessage[]): Promise<FlowAnswer> {
    const shown = extra ? { ...loaded, settled: { ...loaded.settled, context: { ...loaded.settled.context, messages: [...loaded.settled.context.messages, ...extra] } } } : loaded;
    const json = (await this.#forms.render(shown, rq, actor)).json;
    return { flowType: loaded.record.type, status, body: json, browserLocation: this.#d.urls.uiFor(kind, loaded.record.id), cookies: rq.cookies };
  }

  /**
   * Where a browser lands once a test login captured its payload (Kratos testLoginReturnURL): `/session/test-oidc?flow=`
   * on the public host — the page of Ory's Account Experience; no hooks run, no after-login URL applies.
   */
  testResultsUrl(flowId: string): string {
    const url = new URL('/session/test-oidc', new URL(this.#d.urls.publicBase).origin);
    url.searchParams.set('flow', flowId);
    return url.toString();
  }

  refreshRequired(record: FlowRecord): KratosError {
    // Back to this very submit URL: the GET there applies the change that waited (Kratos `reauthenticate`).
    const resume = this.#d.urls.endpoint('self-service/settings', { flow: record.id });
    const to = this.#d.urls.endpoint('self-service/login/browser', { refresh: 'true', return_to: resume });
    return sessionRefreshRequired(to);
  }

  alreadyAuthenticated(kind: 'login' | 'registration' | 'recovery', returnTo: string | undefined, reason: string, browserDefault?: string): KratosError {
    return sessionAlreadyAvailable(reason, { browserLocation: returnTo ?? browserDefault ?? this.#d.urls.after(kind) });
  }

  /** An expired flow: a replacement with Kratos's "expired" message; JSON clients get 410 pointing at it. */
  async expired(kind: FlowKind, loaded: Loaded, rq: RequestState, viaLink: boolean): Promise<FlowAnswer> {
    const { record } = loaded;
    this.#d.metrics.flowsExpired.inc({ flow: kind, type: record.type });
    const now = this.#forms.now();
    const expiredMessage = message(EXPIRED[kind], { expired_at: record.expiresAt.toISOString(), expired_at_unix: Math.floor(record.expiresAt.getTime() / 1000) }, { now });
    const fresh = await this.replacement(kind, record, rq, [expiredMessage]);
    const location = this.#d.urls.uiFor(kind, fresh.id);
    if (viaLink) return { flowType: 'browser', status: 303, body: undefined, browserLocation: location, cookies: rq.cookies };
    throw selfServiceFlowExpired({
      reason: `The self-service flow expired ${((now.getTime() - record.expiresAt.getTime()) / 60000).toFixed(2)} minutes ago, initialize a new one.`,
      beside: { expired_at: record.expiresAt.toISOString(), since: (now.getTime() - record.expiresAt.getTime()) * 1_000_000, use_flow_id: fresh.id },
      browserLocation: location,
    });
  }

  /** A submit to a finished flow. Recovery/verification start over with Kratos's message; others show the flow. */
  async retryCompleted(kind: FlowKind, loaded: Loaded, rq: RequestState, viaLink: boolean): Promise<FlowAnswer> {
    const done = message(RETRY_SUCCESS[kind]);
    if (kind === 'recovery' || kind === 'verification') {
      const fresh = await this.replacement(kind, loaded.record, rq, [done]);
      const location = this.#d.urls.uiFor(kind, fresh.id);
      if (viaLink) return { flowType: 'browser', status: 303, body: undefined, browserLocation: location, cookies: rq.cookies };
      const json = (await this.#forms.render({ record: fresh, settled: this.#d.runtime.view(kind, fresh.snapshot), internal: {} }, rq, { privileged: false })).json;
      return { flowType: loaded.record.type, status: 200, body: json, browserLocation: location, cookies: rq.cookies };
    }
    return this.flowAnswer(kind, loaded, rq, { privileged: false }, 400, [done]);
  }

  /**
   * Too many code submissions: Kratos leaves the flow and starts a new one with 4000001; verification answers JSON
   * clients 410 `self_service_flow_replaced`, recovery sends them to the new flow.
   */
  async replaceExhausted(kind: FlowKind, loaded: Loaded, rq: RequestState): Promise<FlowAnswer> {
    const reason = 'The request was submitted too often. Please request another code.';
    const fresh = await this.replacement(kind, loaded.record, rq, [message(MessageId.ErrorValidationGeneric, { reason })]);
    const location = this.#d.urls.uiFor(kind, fresh.id);
    if (kind === 'verification') {
      throw selfServiceFlowReplaced(fresh.id, location);
    }
    const json = (await this.#forms.render({ record: fresh, settled: this.#d.runtime.view(kind, fresh.snapshot), internal: {} }, rq, { privileged: false })).json;
    return { flowType: loaded.record.type, status: 200, body: json, browserLocation: location, cookies: rq.cookies };
  }

  /** A new flow in place of `old` (same type, return_to and request URL), with `messages`; stored at once. */
  async replacement(kind: FlowKind, old: FlowRecord, rq: RequestState, messages: UiMessage[]): Promise<FlowRecord> {
    const identity = old.identityId && kind === 'settings' ? (await this.#d.store.identities.get(old.identityId)) ?? undefined : undefined;
    const { record } = await this.#forms.build(kind, old.type, rq, {
      returnTo: old.returnTo ?? undefined, identity, messages, requestUrl: old.requestUrl, session: rq.facts.session, runBeforeHooks: true,
    });
    await this.#d.store.flows.insert(record);
    this.#d.metrics.flowsStarted.inc({ flow: kind, type: old.type });
    return record;
  }
}
