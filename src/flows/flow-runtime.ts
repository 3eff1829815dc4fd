import {
  OptimisticLockError, UniqueConstraintViolationException, type EntityManager,
} from '@mikro-orm/core';
import { createActor, waitFor, type AnyActorLogic, type AnyStateMachine, type InspectionEvent, type Snapshot } from 'xstate';
import { Flow, type FlowKind, type FlowRow } from '../../entities/index.ts';
import type { FlowContext, FlowEvent, FlowInput } from '../../machines/flow-types.ts';
import type { Orm } from '../persistence/orm.ts';
import { KratosError } from '../errors/kratos-error.ts';

/** A settled machine state: the top-level state (Kratos's `state`) and the context. */
export interface SettledFlow {
  row: FlowRow;
  state: string;
  context: FlowContext;
  done: boolean;
}

export interface FlowRowInit {
  id: string;
  kind: FlowKind;
  type: 'api' | 'browser';
  requestUrl: string;
  returnTo?: string;
  csrfToken?: string;
  identityId?: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** Per-attempt wiring: the actors bound to this request's EntityManager, and the inspection hook. */
export interface FlowScope {
  actors: Record<string, AnyActorLogic>;
  inspect?: (event: InspectionEvent) => void;
  /** An effect failed with an unexpected error: the request fails and nothing is saved. */
  fatal(): unknown;
}

const SETTLE_TIMEOUT_MS = 60_000;
const MAX_ATTEMPTS = 4;

export class FlowConflictError extends KratosError {
  constructor(cause?: unknown) {
    super(409, undefined, { reason: 'The flow was changed by a concurrent request; please retry.', cause });
  }
}

export function topLevelState(snapshot: { value: unknown }): string {
  const value = snapshot.value;
  return typeof value === 'string' ? value : Object.keys(value as object)[0];
}

/** Settled = waiting for the user, or finished; never while an invoked effect still runs. */
function isSettled(snapshot: { status: string; hasTag(tag: string): boolean }): boolean {
  return snapshot.status !== 'active' || snapshot.hasTag('awaiting_input');
}

/**
 * Runs self-service flows as XState actors whose persisted snapshot is the flow row. A submit restores the
 * actor, sends one event, waits until it settles, and saves the snapshot together with every entity the
 * effects persisted in ONE flush. The row's version makes concurrent submits of one flow conflict; the losing
 * attempt is retried from the stored snapshot, so exactly one takes effect and the others see its result.
 */
export class FlowRuntime {
  readonly #orm: Orm;
  readonly #machines: Record<string, AnyStateMachine>;
  readonly #observers: Array<(event: InspectionEvent) => void>;

  /** `observers` see every actor's inspection events besides each scope's own hook (e.g. the Stately inspector). */
  constructor(orm: Orm, machines: Record<string, AnyStateMachine>, observers: Array<(event: InspectionEvent) => void> = []) {
    this.#orm = orm;
    this.#machines = machines;
    this.#observers = observers;
  }

  #inspect(own: FlowScope['inspect']): ((event: InspectionEvent) => void) | undefined {
    const all = [...(own ? [own] : []), ...this.#observers];
    if (all.length === 0) return undefined;
    return (event) => {
      for (const observe of all) observe(event);
    };
  }

  machine(kind: FlowKind): AnyStateMachine {
    const machine = this.#machines[kind];
    if (!machine) throw new Error(`no machine for flow kind ${kind}`);
    return machine;
  }

  /**
   * Starts a flow: initial snapshot persisted with the row (and flushed, unless `flush: false` when an effect
   * starts it inside another flow's submit). `events` are sent right away (e.g. an admin-issued code).
   */
  async create(
    em: EntityManager, init: FlowRowInit, input: FlowInput, scope: Pick<FlowScope, 'inspect'>,
    options: { flush?: boolean; events?: FlowEvent[] } = {},
  ): Promise<SettledFlow> {
    const actor = createActor(this.machine(init.kind), { input, inspect: this.#inspect(scope.inspect) });
    actor.start();
    for (const event of options.events ?? []) actor.send(event);
    const snapshot = actor.getSnapshot();
    const persisted = actor.getPersistedSnapshot();
    actor.stop();
    const now = new Date();
    const row = em.create(Flow, {
      id: init.id, kind: init.kind, type: init.type, state: topLevelState(snapshot), requestUrl: init.requestUrl,
      returnTo: init.returnTo ?? null, csrfToken: init.csrfToken ?? null, identityId: init.identityId ?? null,
      snapshot: persisted, issuedAt: init.issuedAt, expiresAt: init.expiresAt, createdAt: now, updatedAt: now,
    });
    if (options.flush !== false) await em.flush();
    return { row, state: row.state, context: snapshot.context as FlowContext, done: false };
  }

  /** Reads a flow row (any kind) or undefined. */
  async load(em: EntityManager, id: string): Promise<FlowRow | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    return em.findOne(Flow, { id });
  }

  /** The settled view of a stored row, without running anything. */
  view(row: FlowRow): SettledFlow {
    const snapshot = this.machine(row.kind).resolveState(row.snapshot as never);
    return { row, state: topLevelState(snapshot), context: snapshot.context as FlowContext, done: snapshot.status === 'done' };
  }

  /**
   * Sends one event to a stored flow. `check` runs against the freshly loaded row on every attempt (expiry,
   * ownership, completion), `makeScope` builds fresh effects for every attempt.
   */
  async submit(
    flowId: string,
    event: FlowEvent,
    check: (settled: SettledFlow, em: EntityManager) => Promise<void> | void,
    makeScope: (em: EntityManager, row: FlowRow) => FlowScope | Promise<FlowScope>,
    afterSettle?: (settled: SettledFlow, em: EntityManager) => Promise<void> | void,
  ): Promise<{ settled: SettledFlow; em: EntityManager }> {
    for (let attempt = 1; ; attempt++) {
      const em = this.#orm.em.fork();
      try {
        const row = await this.load(em, flowId);
        if (!row) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
        await check(this.view(row), em);
        const scope = await makeScope(em, row);
        const settled = await this.#advance(em, row, event, scope);
        await afterSettle?.(settled, em);
        await em.flush();
        return { settled, em };
      } catch (err) {
        const retryable = err instanceof OptimisticLockError || err instanceof UniqueConstraintViolationException;
        if (!retryable) throw err;
        if (attempt >= MAX_ATTEMPTS) throw new FlowConflictError(err);
      }
    }
  }

  async #advance(em: EntityManager, row: FlowRow, event: FlowEvent, scope: FlowScope): Promise<SettledFlow> {
    const machine = this.machine(row.kind).provide({ actors: scope.actors } as never);
    const actor = createActor(machine, { snapshot: row.snapshot as Snapshot<unknown>, inspect: this.#inspect(scope.inspect) });
    actor.start();
    try {
      actor.send(event);
      const snapshot = await waitFor(actor, isSettled, { timeout: SETTLE_TIMEOUT_MS });
      const fatal = scope.fatal();
      if (fatal) throw fatal;
      const persisted = actor.getPersistedSnapshot();
      const state = topLevelState(snapshot);
      em.assign(row, { snapshot: persisted, state, updatedAt: new Date() });
      return { row, state, context: snapshot.context as FlowContext, done: snapshot.status === 'done' };
    } finally {
      actor.stop();
    }
  }
}
