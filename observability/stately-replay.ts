import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyStateMachine, StateValue } from 'xstate';

/** One recorded transition of a flow (its audit trail): event type, dotted state paths, the submitted method. */
export interface RecordedTransition {
  event: string;
  from: string;
  to: string;
  method?: string;
  at: string;
}

export interface FlowReplay {
  /** The inspector's session id for the replayed actor, e.g. `flow:<id>`. */
  sessionId: string;
  machine: AnyStateMachine;
  transitions: RecordedTransition[];
}

/** `choose_method.awaiting_input` → `{ choose_method: 'awaiting_input' }`, the state value the inspector draws. */
export function stateValueOf(path: string): StateValue {
  const [head, ...rest] = path.split('.');
  return rest.length === 0 ? head : { [head]: stateValueOf(rest.join('.')) };
}

/**
 * The inspection events that replay a stored flow history as if its actor ran again: the actor with the machine's
 * definition, then each recorded event and the state it led to. The history holds no payloads (only the event type,
 * the method and the time), so neither do these.
 */
export function replayEvents(replay: FlowReplay): StatelyInspectionEvent[] {
  const events: StatelyInspectionEvent[] = [];
  // Machine configs nest deeper than the inspector's default depth limit (10) would keep.
  const inspector = createInspector({ send: (event) => events.push(event) }, { serializationDepthLimit: 64 });
  const { machine, sessionId } = replay;
  const initial = replay.transitions[0]?.from ?? String(machine.config.initial ?? '');
  inspector.actor({ sessionId, logic: machine, id: sessionId } as never, { status: 'active', value: stateValueOf(initial), context: {} });
  for (const t of replay.transitions) {
    const event = { type: t.event, ...(t.method ? { method: t.method } : {}), at: t.at };
    inspector.event(sessionId, event);
    const final = machine.getStateNodeById(`${machine.id}.${t.to}`)?.type === 'final';
    inspector.snapshot(sessionId, { status: final ? 'done' : 'active', value: stateValueOf(t.to), context: {} }, { event });
  }
  return events;
}

type Socket = Pick<WebSocket, 'send' | 'close' | 'addEventListener'>;

/** The platform's WebSocket (Deno, Node ≥ 22); Node 20 has none, so `ws` there. */
async function openSocket(url: string): Promise<Socket> {
  const Native = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (Native) return new Native(url);
  const { WebSocket: Ws } = await import('ws');
  return new Ws(url) as unknown as Socket;
}

/**
 * Sends a flow's replay to the Stately inspector's WebSocket (e.g. `npx @statelyai/inspect` or any server relaying
 * to https://stately.ai/inspect) and closes the socket; resolves with the number of events sent, rejects naming
 * the URL when it cannot be reached within `timeoutMs`.
 */
export async function replayToStatelyInspector(url: string, replay: FlowReplay, options: { timeoutMs?: number } = {}): Promise<number> {
  const events = replayEvents(replay);
  const socket = await openSocket(url);
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`cannot reach the Stately inspector at ${url}: ${why}`));
    };
    const timer = setTimeout(() => fail('no answer'), options.timeoutMs ?? 5_000);
    socket.addEventListener('error', () => fail('connection failed'));
    socket.addEventListener('open', () => {
      clearTimeout(timer);
      for (const event of events) socket.send(JSON.stringify(event));
      socket.close();
    });
    socket.addEventListener('close', () => resolve());
  });
  return events.length;
}
