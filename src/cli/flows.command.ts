import { FLOW_MACHINES } from '../flows/flow-machines.ts';
import { replayToStatelyInspector, type RecordedTransition } from '../../observability/stately-replay.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';
import { adminEndpoint, adminFailure, callAdmin, ENDPOINT_HELP } from './admin-client.ts';

export const flowsSpec: CommandSpec = {
  name: 'flows',
  summary: "Read a self-service flow's audit trail, or replay it in the Stately inspector.",
  usage: 'idflow flows history ID [--format json|table] [-e URL]\n  idflow flows replay ID --inspect WS_URL [-e URL]',
  options: {
    endpoint: { type: 'string', short: 'e' },
    format: { type: 'string', short: 'f', default: 'table' },
    inspect: { type: 'string' },
  },
  help: `
Options:
${ENDPOINT_HELP}
  -f, --format json|table       history: the admin API's JSON, or one line per transition (default)
      --inspect WS_URL          replay: the Stately inspector's WebSocket (e.g. ws://localhost:8080 from
                                \`npx @statelyai/inspect\`, or the server \`idflow serve --inspect\` streams to)

Both read GET /admin/flows/{id}/history. The history keeps each transition's event, states, method and time,
never a submitted value, so a replay shows the path a flow took without any password, code or token.`,
};

interface FlowHistory {
  flow_id: string;
  kind: keyof typeof FLOW_MACHINES;
  type: string;
  state: string;
  transitions: RecordedTransition[];
}

export async function flowsCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(flowsSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(flowsSpec));
    return 0;
  }
  if (sub !== 'history' && sub !== 'replay') throw new UsageError(`unknown subcommand "flows ${sub}" (use history or replay)`);
  const id = args.positionals[0];
  if (!id) throw new UsageError(`${sub} needs a flow ID`);
  const format = String(args.values.format);
  if (format !== 'json' && format !== 'table') throw new UsageError('--format must be json or table');
  const inspectUrl = args.values.inspect as string | undefined;
  if (sub === 'replay' && !inspectUrl) throw new UsageError('replay needs --inspect WS_URL');

  const res = await callAdmin(new URL(`admin/flows/${encodeURIComponent(id)}/history`, adminEndpoint(args.values, env)).toString());
  if (!res.ok) throw await adminFailure(res);
  const history = await res.json() as FlowHistory;

  if (sub === 'history') {
    if (format === 'json') process.stdout.write(JSON.stringify(history, null, 2) + '\n');
    else process.stdout.write(historyTable(history));
    return 0;
  }
  const machine = FLOW_MACHINES[history.kind];
  if (!machine) throw new Error(`the flow's kind "${history.kind}" has no machine in this version of idflow`);
  const sent = await replayToStatelyInspector(inspectUrl!, { sessionId: `flow:${history.flow_id}`, machine, transitions: history.transitions });
  process.stdout.write(`replayed ${history.transitions.length} transitions of ${history.kind} flow ${history.flow_id} (${sent} inspection events) to ${inspectUrl}\n`);
  return 0;
}

function historyTable(history: FlowHistory): string {
  const lines = [`${history.kind} flow ${history.flow_id} (${history.type}), now ${history.state}`];
  for (const t of history.transitions) lines.push(`${t.at}  ${t.event}${t.method ? ` [${t.method}]` : ''}  ${t.from} -> ${t.to}`);
  return lines.join('\n') + '\n';
}
