import { FLOW_MACHINES } from '../flows/flow-machines.ts';
import { machineJson, machineMermaid } from '../../observability/machine-export.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';

export const machinesSpec: CommandSpec = {
  name: 'machines',
  summary: "Export the self-service flow machines (Stately visualiser JSON or Mermaid diagrams).",
  usage: 'idflow machines export [--format json|mermaid] [--machine login|registration|settings]',
  options: {
    format: { type: 'string', short: 'f', default: 'mermaid' },
    machine: { type: 'string', short: 'm' },
  },
  help: `
Options:
  -f, --format json|mermaid   json: the machine definitions Stately's visualiser imports (one object keyed by
                              machine); mermaid: one stateDiagram-v2 block per machine (default)
  -m, --machine NAME          only this machine`,
};

export async function machinesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(machinesSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(machinesSpec));
    return 0;
  }
  if (sub !== 'export') throw new UsageError(`unknown subcommand "machines ${sub}" (use export)`);
  const format = String(args.values.format);
  if (format !== 'json' && format !== 'mermaid') throw new UsageError('--format must be json or mermaid');
  const names = Object.keys(FLOW_MACHINES) as Array<keyof typeof FLOW_MACHINES>;
  const chosen = args.values.machine ? names.filter((n) => n === args.values.machine) : names;
  if (chosen.length === 0) throw new UsageError(`unknown machine "${String(args.values.machine)}" (use ${names.join(', ')})`);
  process.stdout.write(renderMachines(chosen, format));
  return 0;
}

export function renderMachines(names: Array<keyof typeof FLOW_MACHINES>, format: 'json' | 'mermaid'): string {
  if (format === 'json') {
    return JSON.stringify(Object.fromEntries(names.map((n) => [n, machineJson(FLOW_MACHINES[n])])), null, 2) + '\n';
  }
  return names.map((n) => `### ${n}\n\n\`\`\`mermaid\n${machineMermaid(FLOW_MACHINES[n])}\`\`\`\n`).join('\n');
}
