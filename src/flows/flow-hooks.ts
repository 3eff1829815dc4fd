/**
 * The machines' pre-persist step (`running_hooks`): the web hooks that run after a method succeeded and before the
 * flow's changes are saved (Kratos: every login after-hook before the session is stored; registration and settings
 * hooks with `can_interrupt` or `response.parse` before the identity is). A hook may stop the flow — its messages go
 * on the nodes its JSON pointers name and nothing but the flow's snapshot is saved — or, parsing, change the identity
 * about to be saved; the changed identity is validated against its schema like a submitted one.
 */
import type { HooksInput, HookVerdict, UiMessage } from '../../machines/flow-types.ts';
import { KratosError } from '../errors/kratos-error.ts';
import { requestContext, type HookMessageGroup, type IdentityPatch, type WebHookContext } from '../hooks/web-hooks.ts';
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import { duplicateAccountMessage, traitMessages } from '../methods/form-messages.ts';
import type { FlowKind } from '../persistence/store.ts';
import { toSessionJson } from '../session/session-json.ts';
import { pointerToNodeName } from '../ui/trait-errors.ts';
import type { FlowServiceDeps } from './flow-deps.ts';
import type { Actor, Attempt, FlowForms, Loaded } from './flow-forms.ts';
import type { RequestState } from './flow-request.ts';

type HookKind = 'login' | 'registration' | 'settings';

/** Kratos's `ctx` for a completed flow's hooks: the flow, its identity (no credentials), the session if any. */
export async function completedHookContext(
  d: FlowServiceDeps, forms: FlowForms, kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, identity: IdentityRecord | undefined,
): Promise<WebHookContext> {
  const flow = (await forms.render(loaded, rq, { ...actor, identity: kind === 'settings' ? identity : actor.identity })).json;
  const view = work.issued?.session ?? (work.upgraded ? { ...work.upgraded.session, ...work.upgraded.patch } : kind === 'settings' ? actor.session?.session : undefined);
  const session = view && identity ? toSessionJson({ ...view, identity }, { includeIdentity: true, schemaUrl: d.schemaUrl }) : undefined;
  return {
    flow,
    ...(identity ? { identity: toIdentityJson(identity, { schemaUrl: d.schemaUrl, admin: false, credentials: false }) } : {}),
    ...(session ? { session } : {}),
    ...requestContext(rq.facts.hook, d.webHooks.headerAllowlist),
  };
}

export async function runPrePersistHooks(
  d: FlowServiceDeps, forms: FlowForms, kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, input: HooksInput,
): Promise<HookVerdict> {
  work.hooksRan = true;
  // A mitigated sign-up clash saves nothing: no web hook hears of an account that is never created (as after saving).
  if (work.clash) return { kind: 'passed' };
  const hookKind = kind as HookKind;
  const identityId = work.outcome?.kind === 'authenticated' ? work.outcome.identityId : input.identityId;
  const identity = work.identity?.record ?? (identityId ? (await d.store.identities.get(identityId)) ?? undefined : undefined);
  const ctx = await completedHookContext(d, forms, kind, loaded, rq, actor, work, identity);
  const verdict = await d.webHooks.runPrePersist(hookKind, input.method, ctx);
  if (verdict.kind === 'interrupted') return reject(work, rq, { ...hookMessages(verdict.messages), values: shownValues(kind, work) });
  // Kratos applies a login hook's identity to the session's copy only, which it never saves: nothing to do here.
  if (!verdict.identity || !work.identity || kind === 'login') return { kind: 'passed' };
  const changed = applyPatch(d, work.identity.record, verdict.identity);
  if ('fieldMessages' in changed) return reject(work, rq, { fieldMessages: changed.fieldMessages, values: { traits: verdict.identity.traits } });
  try {
    await d.identities.assertNoConflicts(changed.record);
  } catch (err) {
    if (err instanceof KratosError && err.status === 409) return reject(work, rq, { messages: [duplicateAccountMessage(undefined)], values: { traits: changed.record.traits } });
    throw err;
  }
  work.identity = { ...work.identity, record: changed.record };
  return { kind: 'passed' };
}

/** The hooks' changes to the identity about to be saved, validated against its schema (addresses follow the traits). */
function applyPatch(d: FlowServiceDeps, current: IdentityRecord, patch: IdentityPatch): { record: IdentityRecord } | { fieldMessages: Record<string, UiMessage[]> } {
  const traits = patch.traits ?? current.traits;
  const errors = d.schemas.require(current.schemaId).validateTraits(traits);
  if (errors.length > 0) return { fieldMessages: traitMessages(errors) };
  const record = d.identities.buildReplacement(current, {
    schema_id: current.schemaId,
    traits,
    state: patch.state ?? current.state,
    metadata_public: (patch.metadata_public ?? current.metadataPublic ?? undefined) as Record<string, unknown> | undefined,
    metadata_admin: (patch.metadata_admin ?? current.metadataAdmin ?? undefined) as Record<string, unknown> | undefined,
    external_id: patch.external_id === undefined ? current.externalId ?? undefined : patch.external_id ?? undefined,
  }, undefined);
  // A new identity keeps being new: its timestamps are the sign-up's.
  return { record: { ...record, createdAt: current.createdAt } };
}

/** Nothing the refused submit produced is saved: no identity change, no session, no mail or follow-up flow. */
function reject(work: Attempt, rq: RequestState, view: Omit<Extract<HookVerdict, { kind: 'rejected' }>, 'kind'>): HookVerdict {
  work.identity = undefined;
  work.issued = undefined;
  work.upgraded = undefined;
  work.messages = [];
  work.followUps = [];
  work.verificationFlows = [];
  work.outcome = { kind: 'rejected', ...view };
  rq.methodOutcome = 'rejected';
  return { kind: 'rejected', ...view };
}

/** The form shows what was submitted again: registration and settings their traits (Kratos HandleHookError). */
function shownValues(kind: FlowKind, work: Attempt): Record<string, unknown> | undefined {
  return (kind === 'registration' || kind === 'settings') && work.identity ? { traits: work.identity.record.traits } : undefined;
}

/** `#/traits/email` → node `traits.email`; `#/` or no pointer → the form's own messages (Kratos container.ParseError). */
export function hookMessages(groups: HookMessageGroup[]): { fieldMessages: Record<string, UiMessage[]>; messages: UiMessage[] } {
  const fieldMessages: Record<string, UiMessage[]> = {};
  const messages: UiMessage[] = [];
  for (const group of groups) {
    const name = pointerToNodeName(group.instancePtr.replace(/^#/, ''));
    const shown = group.messages.map((m): UiMessage => ({ id: m.id, text: m.text, type: m.type, ...(m.context ? { context: m.context } : {}) }));
    if (name === '') messages.push(...shown);
    else (fieldMessages[name] ??= []).push(...shown);
  }
  return { fieldMessages, messages };
}
