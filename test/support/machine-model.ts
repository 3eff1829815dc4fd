/**
 * Model-based testing of the flow machines. The model is user-level: one event is one thing a client can do
 * (submit a correct password, submit a taken e-mail...). Each client event is stepped through the REAL machine
 * with XState's pure `transition()`: the submit event, then the done event of every effect the machine invokes,
 * with the output that the effect produces for that client action. `xstate/graph`'s TestModel traverses this
 * model to generate paths; coverage counts the machine's own state nodes and transition definitions that the
 * paths exercised, and the same paths are replayed over HTTP against the real server.
 */
import {
  fromTransition, getMicrosteps, initialTransition, transition,
  type AnyEventObject, type AnyMachineSnapshot, type AnyStateMachine,
} from 'xstate';
import { TestModel, getStateNodes, type TestPath } from 'xstate/graph';
import type { FlowInput } from '../../machines/flow-types.ts';

export interface ClientAction {
  /** The machine's `method.submit` payload shape (secrets are placeholders; the effects are simulated). */
  submit?: { method: string; payload: Record<string, unknown> };
  /** Any other event the action sends instead of `method.submit`. */
  event?: AnyEventObject;
  /** Output of each invoked effect for this action, by invoke id (or computed from the flow's context). */
  outputs: Record<string, unknown> | ((context: Record<string, unknown>) => Record<string, unknown>);
}

export interface MachineModelSpec {
  machine: AnyStateMachine;
  /** Client actions by name; `open:<variant>` events choose the flow's input. */
  actions: Record<string, ClientAction>;
  /** Initial flow inputs a client can get (e.g. server configs with and without the session hook). */
  openings: Record<string, FlowInput>;
  /** Which actions a client can take in a given top-level state. */
  availableIn: (state: string, context: Record<string, unknown>) => string[];
  /** Context a model's available actions depend on, so the traversal tells such states apart. */
  stateKey?: (context: Record<string, unknown>) => unknown;
}

export interface ModelState {
  opened?: string;
  snapshot?: AnyMachineSnapshot;
}

export type ModelEvent = { type: string };

interface TransitionDef {
  key: string;
  source: { id: string };
  target?: ReadonlyArray<{ id: string }>;
  eventType: string;
}

function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0];
  const rest = statePath(inner);
  return rest ? `${key}.${rest}` : key;
}

export function topState(snapshot: AnyMachineSnapshot): string {
  const value = snapshot.value;
  return typeof value === 'string' ? value : Object.keys(value as object)[0];
}

function activeIds(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): string[] {
  const path = statePath(snapshot.value).split('.');
  return path.map((_, i) => `${machine.id}.${path.slice(0, i + 1).join('.')}`);
}

/** Every transition definition of the machine, keyed uniquely (source, event, index). */
export function allTransitions(machine: AnyStateMachine): TransitionDef[] {
  const defs: TransitionDef[] = [];
  const nodes = [machine.root, ...getStateNodes(machine.root)];
  for (const node of nodes) {
    for (const [eventType, list] of node.transitions) {
      list.forEach((t, i) => defs.push({ key: `${node.id} --${eventType}#${i}--> ${(t.target ?? []).map((x) => x.id).join(',')}`, source: node, target: t.target, eventType }));
    }
    (node.always ?? []).forEach((t, i) => defs.push({ key: `${node.id} --always#${i}--> ${(t.target ?? []).map((x) => x.id).join(',')}`, source: node, target: t.target, eventType: '' }));
  }
  return defs;
}

export function allStateIds(machine: AnyStateMachine): string[] {
  return [machine.root.id, ...getStateNodes(machine.root).map((n) => n.id)];
}

export class Coverage {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();
  readonly #machine: AnyStateMachine;
  readonly #defs: TransitionDef[];

  constructor(machine: AnyStateMachine) {
    this.#machine = machine;
    this.#defs = allTransitions(machine);
  }

  visit(snapshot: AnyMachineSnapshot): void {
    for (const id of activeIds(this.#machine, snapshot)) this.states.add(id);
    this.states.add(this.#machine.root.id);
  }

  /** Records the definitions one external event took, including eventless ones in later microsteps. */
  step(before: AnyMachineSnapshot, event: AnyEventObject): AnyMachineSnapshot {
    const selected = this.#machine.getTransitionData(before as never, event as never) as Array<{ source: { id: string }; eventType: string; target?: ReadonlyArray<{ id: string }> }>;
    for (const t of selected) {
      const list = t.source && (this.#machine.getStateNodeById(t.source.id).transitions.get(t.eventType) ?? []);
      const index = list.indexOf(t as never);
      const def = this.#defs.find((d) => d.source.id === t.source.id && d.eventType === t.eventType && d.key.includes(`#${index}-->`));
      if (def) this.transitions.add(def.key);
    }
    const micro = getMicrosteps(this.#machine, before as never, event as never).map(([s]) => s as AnyMachineSnapshot);
    let previous = before;
    micro.forEach((snap, i) => {
      this.visit(snap);
      if (i > 0) {
        const beforeIds = activeIds(this.#machine, previous);
        const afterIds = activeIds(this.#machine, snap);
        const always = this.#defs.find((d) => d.eventType === '' && beforeIds.includes(d.source.id) && (d.target ?? []).some((t) => afterIds.includes(t.id)));
        if (always) this.transitions.add(always.key);
      }
      previous = snap;
    });
    const [next] = transition(this.#machine, before as never, event as never);
    return next as AnyMachineSnapshot;
  }

  report(): { states: string; transitions: string; missingStates: string[]; missingTransitions: string[]; complete: boolean } {
    const stateIds = allStateIds(this.#machine);
    const missingStates = stateIds.filter((id) => !this.states.has(id));
    const missingTransitions = this.#defs.map((d) => d.key).filter((k) => !this.transitions.has(k));
    return {
      states: `${stateIds.length - missingStates.length}/${stateIds.length}`,
      transitions: `${this.#defs.length - missingTransitions.length}/${this.#defs.length}`,
      missingStates,
      missingTransitions,
      complete: missingStates.length === 0 && missingTransitions.length === 0,
    };
  }
}

/** Steps one client action through the real machine; returns the settled snapshot. */
export function stepAction(spec: MachineModelSpec, snapshot: AnyMachineSnapshot, actionName: string, coverage?: Coverage): AnyMachineSnapshot {
  const action = spec.actions[actionName];
  const outputs = typeof action.outputs === 'function' ? action.outputs(snapshot.context) : action.outputs;
  const apply = (s: AnyMachineSnapshot, e: AnyEventObject) => (coverage ? coverage.step(s, e) : (transition(spec.machine, s as never, e as never)[0] as AnyMachineSnapshot));
  let current = apply(snapshot, action.event ?? { type: 'method.submit', ...action.submit });
  for (let guard = 0; guard < 10 && current.status === 'active' && !current.hasTag('awaiting_input'); guard++) {
    const leaf = spec.machine.getStateNodeById(`${spec.machine.id}.${statePath(current.value)}`);
    const invoke = leaf.invoke[0];
    if (!invoke) throw new Error(`state ${statePath(current.value)} neither awaits input nor invokes an effect`);
    if (!(invoke.id in outputs)) throw new Error(`action ${actionName} gives no output for effect ${invoke.id}`);
    current = apply(current, { type: `xstate.done.actor.${invoke.id}`, output: outputs[invoke.id] });
  }
  return current;
}

export function openFlow(spec: MachineModelSpec, opening: string, coverage?: Coverage): AnyMachineSnapshot {
  const [snapshot] = initialTransition(spec.machine, spec.openings[opening] as never);
  coverage?.visit(snapshot as AnyMachineSnapshot);
  return snapshot as AnyMachineSnapshot;
}

/** The user-level model as actor logic, so xstate/graph can traverse it. */
export function userModel(spec: MachineModelSpec) {
  const logic = fromTransition<ModelState, ModelEvent, never, undefined>((state, event) => {
    if (event.type.startsWith('open:')) {
      if (state.snapshot) return state;
      const opening = event.type.slice('open:'.length);
      return { opened: opening, snapshot: openFlow(spec, opening) };
    }
    if (!state.snapshot || state.snapshot.status !== 'active' || !state.snapshot.hasTag('awaiting_input')) return state;
    if (!spec.availableIn(topState(state.snapshot), state.snapshot.context).includes(event.type)) return state;
    return { ...state, snapshot: stepAction(spec, state.snapshot, event.type) };
  }, {});
  const events = (state: { context: ModelState }): ModelEvent[] => {
    if (!state.context.snapshot) return Object.keys(spec.openings).map((o) => ({ type: `open:${o}` }));
    const snap = state.context.snapshot;
    if (snap.status !== 'active') return [];
    return spec.availableIn(topState(snap), snap.context).map((type) => ({ type }));
  };
  // The last client action is part of the state, so actions that loop back to the same machine state (a resend,
  // a second wrong code) still appear as steps of the generated paths.
  const serializeState = (state: { context: ModelState }, event?: ModelEvent) => {
    const snap = state.context.snapshot;
    if (!snap) return 'unopened';
    const ctx = snap.context as { screen?: string; values?: unknown; messages?: Array<{ id: number }>; fieldMessages?: Record<string, Array<{ id: number }>> };
    const fields = Object.entries(ctx.fieldMessages ?? {}).map(([name, list]) => [name, list.map((m) => m.id)]);
    return JSON.stringify([state.context.opened, statePath(snap.value), snap.status, ctx.screen ?? null, (ctx.messages ?? []).map((m) => m.id), fields, spec.stateKey?.(snap.context) ?? null, event?.type ?? null]);
  };
  return new TestModel(logic as never, { events: events as never, serializeState: serializeState as never });
}

function eventsOf(path: TestPath<never, ModelEvent>): string[] {
  return path.steps.map((s) => (s.event as ModelEvent).type).filter((t) => t !== 'xstate.init');
}

/** Generated paths (shortest to every model state, deduplicated) with their client events. */
export function generatePaths(spec: MachineModelSpec): Array<{ description: string; events: string[] }> {
  const model = userModel(spec);
  // Shortest paths to every model state first; simple paths (which grow exponentially with a model's loops)
  // only when those leave a transition uncovered, e.g. one that is only taken after another state.
  let paths = model.getShortestPaths() as Array<TestPath<never, ModelEvent>>;
  if (!measureCoverage(spec, paths.map((p) => ({ events: eventsOf(p) }))).report().complete) {
    paths = [...paths, ...(model.getSimplePaths() as Array<TestPath<never, ModelEvent>>)];
  }
  const seen = new Set<string>();
  const out: Array<{ description: string; events: string[] }> = [];
  for (const path of paths) {
    const events = eventsOf(path);
    const key = events.join(' → ');
    if (events.length === 0 || seen.has(key)) continue;
    seen.add(key);
    out.push({ description: key, events });
  }
  // Longer paths first; drop paths that are prefixes of another path (they add no coverage).
  out.sort((a, b) => b.events.length - a.events.length);
  return out.filter((p, i) => !out.slice(0, i).some((q) => q.events.slice(0, p.events.length).join('|') === p.events.join('|')));
}

/** Replays paths through the real machine (pure) and measures coverage. */
export function measureCoverage(spec: MachineModelSpec, paths: Array<{ events: string[] }>): Coverage {
  const coverage = new Coverage(spec.machine);
  for (const path of paths) {
    let snapshot: AnyMachineSnapshot | undefined;
    for (const event of path.events) {
      if (event.startsWith('open:')) snapshot = openFlow(spec, event.slice(5), coverage);
      else snapshot = stepAction(spec, snapshot!, event, coverage);
    }
  }
  return coverage;
}

/**
 * A small subset of the generated paths with the same coverage (greedy set cover over the state nodes and
 * transitions each path exercises): what the HTTP replay runs.
 */
export function coveringPaths(spec: MachineModelSpec, paths = generatePaths(spec)): Array<{ description: string; events: string[] }> {
  const items = paths.map((path) => {
    const c = measureCoverage(spec, [path]);
    return new Set([...c.states, ...c.transitions]);
  });
  const covered = new Set<string>();
  const chosen: Array<{ description: string; events: string[] }> = [];
  for (;;) {
    let best = -1;
    let gain = 0;
    items.forEach((set, i) => {
      const g = [...set].filter((x) => !covered.has(x)).length;
      if (g > gain || (g === gain && g > 0 && paths[i].events.length < paths[best].events.length)) {
        best = i;
        gain = g;
      }
    });
    if (best < 0 || gain === 0) return chosen;
    chosen.push(paths[best]);
    for (const x of items[best]) covered.add(x);
  }
}
