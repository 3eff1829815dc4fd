import { readFileSync } from 'node:fs';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';
import { adminEndpoint, adminFailure, callAdmin, ENDPOINT_HELP } from './admin-client.ts';

export const identitiesSpec: CommandSpec = {
  name: 'identities',
  summary: 'Manage identities through the admin API.',
  usage: 'idflow identities import FILE|- [-e URL]\n  idflow identities list [--page-size N] [--page-token T] [-e URL]\n  idflow identities get ID [--include-credential TYPE] [-e URL]\n  idflow identities delete ID [-e URL]',
  options: {
    endpoint: { type: 'string', short: 'e' },
    'page-size': { type: 'string' },
    'page-token': { type: 'string' },
    'include-credential': { type: 'string', short: 'i', multiple: true },
    quiet: { type: 'boolean', short: 'q', default: false },
  },
  help: `
Options:
${ENDPOINT_HELP}
      --page-size N             list: identities per page (default 250)
      --page-token T            list: continue from a page token printed by a previous list
  -i, --include-credential T    get: include the credential config of type T (e.g. password)
  -q, --quiet                   import: print only the ids

import reads a JSON file (or - for standard input) holding one identity or an array of them, in the body
format of POST /admin/identities (traits, schema_id, state, metadata_*, credentials incl. hashed_password).
It prints one line per identity and fails (exit 1) if any was refused.`,
};

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function identitiesCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(identitiesSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(identitiesSpec));
    return 0;
  }
  const base = adminEndpoint(args.values, env);
  const out = (line: string) => process.stdout.write(line + '\n');
  switch (sub) {
    case 'import': {
      const file = args.positionals[0];
      if (!file) throw new UsageError('import needs a FILE (or - for standard input)');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readInput(file));
      } catch (err) {
        throw new Error(`${file === '-' ? 'standard input' : file} is not valid JSON: ${(err as Error).message}`);
      }
      const items = Array.isArray(parsed) ? parsed : [parsed];
      let failed = 0;
      for (const [index, item] of items.entries()) {
        const res = await callAdmin(new URL('admin/identities', base).toString(), { method: 'POST', body: JSON.stringify(item) });
        if (res.status === 201) {
          const identity = await res.json() as { id: string };
          out(args.values.quiet ? identity.id : `imported ${identity.id}`);
        } else {
          failed++;
          process.stderr.write(`identity #${index + 1}: ${(await adminFailure(res)).message}\n`);
        }
      }
      if (failed > 0) throw new Error(`${failed} of ${items.length} identities were not imported`);
      return 0;
    }
    case 'list': {
      const url = new URL('admin/identities', base);
      if (args.values['page-size']) url.searchParams.set('page_size', String(args.values['page-size']));
      if (args.values['page-token']) url.searchParams.set('page_token', String(args.values['page-token']));
      const res = await callAdmin(url.toString());
      if (!res.ok) throw await adminFailure(res);
      out(JSON.stringify(await res.json(), null, 2));
      const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      if (next) process.stderr.write(`next page: --page-token ${new URL(next).searchParams.get('page_token')}\n`);
      return 0;
    }
    case 'get':
    case 'delete': {
      const id = args.positionals[0];
      if (!id) throw new UsageError(`${sub} needs an identity ID`);
      const url = new URL(`admin/identities/${encodeURIComponent(id)}`, base);
      for (const type of (args.values['include-credential'] as string[] | undefined) ?? []) url.searchParams.append('include_credential', type);
      const res = await callAdmin(url.toString(), { method: sub === 'get' ? 'GET' : 'DELETE' });
      if (!res.ok) throw await adminFailure(res);
      if (sub === 'get') out(JSON.stringify(await res.json(), null, 2));
      else out(`deleted ${id}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand "identities ${sub}" (use import, list, get or delete)`);
  }
}
