import { createActor, fromPromise, waitFor, type AnyStateMachine, type InspectionEvent, type Snapshot } from 'xstate';
import type { FlowContext, FlowEvent, FlowInput } from '../../machines/flow-types.ts';
import type { FlowKind } from '../persistence/store.ts';

/** A settled machine: waiting for the user, or finished. Never taken while an effect runs. */
export interface Settled {
  /** The persisted snapshot (what the flow row stores). */
  snapshot: unknown;
  /** Top-level state: Kratos's `state`. */
  state: string;
  context: FlowContext;
  done: boolean;
}

export type Inspect = (event: InspectionEvent) => void;

/** What one run's invoked actors do, by the actor names the machines declare (`authenticate`, `issueSession`, …). */
export type Effects = Record<string, (input: never) => Promise<unknown>>;

const SETTLE_TIMEOUT_MS = 60_000;

export function topLevelState(snapshot: { value: unknown }): string {
  const value = snapshot.value;
  return typeof value === 'string' ? value : Object.keys(value as object)[0];
}

function isSettled(snapshot: { status: string; hasTag(tag: string): boolean }): boolean {
  return snapshot.status !== 'active' || snapshot.hasTag('awaiting_input');
}

/**
 * Runs the flow machines as XState actors whose persisted snapshot is the flow: `start` makes a flow's first snapshot,
 * `advance` restores an actor from a stored snapshot, sends one event and waits until it settles. No I/O of its own:
 * the effects are the actors passed in, the snapshot is the caller's to store.
 */
export class FlowRuntime {
  readonly #machines: Record<FlowKind, AnyStateMachine>;
  /**
   * The machines with every declared actor provided ONCE: each looks up its run's effects by the actor system it runs
   * in. `machine.provide` per submit rebuilt the whole state-node tree (~0.4 ms of main thread per submit, measured).
   */
  readonly #running: Partial<Record<FlowKind, AnyStateMachine>> = {};
  readonly #effects = new WeakMap<object, Effects>();
  readonly #observers: Inspect[];

  /** `observers` see every actor's inspection events besides each call's own hook (e.g. the Stately inspector). */
  constructor(machines: Record<FlowKind, AnyStateMachine>, observers: Inspect[] = []) {
    this.#machines = machines;
    this.#observers = observers;
  }

  #runnable(kind: FlowKind): AnyStateMachine {
    const cached = this.#running[kind];
    if (cached) return cached;
    const machine = this.machine(kind);
    const names = Object.keys((machine.implementations as { actors?: object }).actors ?? {});
    const actors = Object.fromEntries(names.map((name) => [name, fromPromise<unknown, unknown>(({ input, system }) => {
      const effect = this.#effects.get(system)?.[name];
      if (!effect) return Promise.reject(new Error(`no effect "${name}" was given for this run of the ${kind} flow`));
      return effect(input as never);
    })]));
    return (this.#running[kind] = machine.provide({ actors } as never));
  }

  machine(kind: FlowKind): AnyStateMachine {
    const machine = this.#machines[kind];
    if (!machine) throw new Error(`no machine for flow kind ${kind}`);
    return machine;
  }

  #inspect(own: Inspect | undefined): Inspect | undefined {
    const all = [...(own ? [own] : []), ...this.#observers];
    if (all.length === 0) return undefined;
    return (event) => {
      for (const observe of all) observe(event);
    };
  }

  /** The first snapshot of a new flow; `events` are sent right away (e.g. a code issued out of band). */
  start(kind: FlowKind, input: FlowInput, options: { events?: FlowEvent[]; inspect?: Inspect } = {}): Settled {
    const actor = createActor(this.machine(kind), { input, inspect: this.#inspect(options.inspect) });
    actor.start();
    for (const event of options.events ?? []) actor.send(event);
    const snapshot = actor.getSnapshot();
    const persisted = actor.getPersistedSnapshot();
    actor.stop();
    return { snapshot: persisted, state: topLevelState(snapshot), context: snapshot.context as FlowContext, done: snapshot.status === 'done' };
  }

  /** The settled view of a stored snapshot, without running anything. */
  view(kind: FlowKind, snapshot: unknown): Settled {
    const resolved = this.machine(kind).resolveState(snapshot as never);
    return { snapshot, state: topLevelState(resolved), context: resolved.context as FlowContext, done: resolved.status === 'done' };
  }

  /**
   * Restores the actor, sends `event` with `effects` doing what the invoked actors do, and waits until it settles.
   * `failure()` reports an effect's unexpected error: then nothing of this run may be stored, and it is thrown.
   */
  async advance(
    kind: FlowKind,
    snapshot: unknown,
    event: FlowEvent,
    scope: { effects: Effects; inspect?: Inspect; failure(): unknown },
  ): Promise<Settled> {
    const actor = createActor(this.#runnable(kind), { snapshot: snapshot as Snapshot<unknown>, inspect: this.#inspect(scope.inspect) });
    this.#effects.set(actor.system, scope.effects);
    actor.start();
    try {
      actor.send(event);
      const settled = await waitFor(actor, isSettled, { timeout: SETTLE_TIMEOUT_MS });
      const failure = scope.failure();
      if (failure) throw failure;
      return { snapshot: actor.getPersistedSnapshot(), state: topLevelState(settled), context: settled.context as FlowContext, done: settled.status === 'done' };
    } finally {
      actor.stop();
    }
  }
}
