import { readFileSync } from 'node:fs';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';
import { adminEndpoint, adminFailure, callAdmin, ENDPOINT_HELP } from './admin-client.ts';
import { FORMAT_HELP, FORMAT_OPTIONS, outputFormat, printErrors, printRow, printTable, type OutputFormat } from './output.ts';

export const identitiesSpec: CommandSpec = {
  name: 'identities',
  summary: 'Manage identities through the admin API (Kratos: kratos import|list|get|delete identities).',
  usage: [
    'idflow identities import [FILE...] [-e URL] [--format F] [-q]',
    'idflow identities list [PAGE_TOKEN PAGE_SIZE] [--page-size N] [--page-token T] [--consistency C]',
    'idflow identities get ID... [--external-id] [-i TYPE] [--format F] [-q]',
    'idflow identities delete ID... [--format F] [-q]',
    'idflow identities patch ID... [--patch FILE]... [--format F] [-q]',
  ].join('\n  '),
  options: {
    endpoint: { type: 'string', short: 'e' },
    ...FORMAT_OPTIONS,
    'page-size': { type: 'string' },
    'page-token': { type: 'string' },
    consistency: { type: 'string' },
    'include-credentials': { type: 'string', short: 'i', multiple: true },
    'include-credential': { type: 'string', multiple: true },
    'external-id': { type: 'boolean', default: false },
    patch: { type: 'string', multiple: true },
  },
  help: `
Options:
${ENDPOINT_HELP}
${FORMAT_HELP}
      --page-size N             list: identities per page (default 100)
      --page-token T            list: the page token printed by the previous page (NEXT PAGE TOKEN)
      --consistency C           list: strong or eventual (passed on; idflow reads one database, always strong)
  -i, --include-credentials T   get: include the credential config of type T (oidc, password, ...; repeatable)
      --external-id             get: the IDs are external ids (GET /admin/identities/by/external/{id})
      --patch FILE              patch: a JSON Patch (RFC 6902 array) file, - for standard input; repeatable,
                                applied in order; without --patch the patch is read from standard input

import reads each FILE (standard input without FILE, or for -) holding one identity or an array of them, in the
body format of POST /admin/identities (traits, schema_id, state, metadata_*, credentials incl. hashed_password).
get, delete and patch take many IDs. One result prints as a row, several as a table; each failure is one line
"SOURCE: reason" on standard error, and the exit code is 1 when any failed (the others are still done).`,
};

interface IdentityJson {
  id: string;
  external_id?: string | null;
  schema_id: string;
  schema_url: string;
  verifiable_addresses?: Array<{ value?: string }>;
  recovery_addresses?: Array<{ value?: string }>;
}

const IDENTITY_HEADER = ['ID', 'EXTERNAL ID', 'VERIFIED ADDRESSES', 'RECOVERY ADDRESSES', 'SCHEMA ID', 'SCHEMA URL'];

/** Kratos's identity columns (cmd/identities/definitions.go). */
function identityColumns(i: IdentityJson): string[] {
  const values = (list: Array<{ value?: string }> | undefined) => (list ?? []).map((a) => a.value).filter((v): v is string => !!v).join(', ');
  return [i.id, i.external_id ? i.external_id : '<none>', values(i.verifiable_addresses), values(i.recovery_addresses), i.schema_id, i.schema_url];
}

/** One identity as a row, several (or none) as a table; json/yaml print the object or the array. */
function printIdentities(format: OutputFormat, identities: IdentityJson[]): void {
  if (identities.length === 1) printRow(format, { header: IDENTITY_HEADER, columns: identityColumns(identities[0]), value: identities[0] });
  else printTable(format, { header: IDENTITY_HEADER, rows: identities.map(identityColumns), value: identities });
}

async function readSource(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const sourceName = (file: string) => (file === '-' ? 'STD_IN' : file);

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${sourceName(file)}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Runs `one` for each item, collecting results and `SOURCE: reason` failures; prints, then exits 1 if any failed. */
async function forEach<T, R>(items: Array<[string, T]>, one: (item: T) => Promise<R | Error>, print: (results: R[]) => void): Promise<number> {
  const results: R[] = [];
  const failed = new Map<string, string>();
  for (const [source, item] of items) {
    const result = await one(item);
    if (result instanceof Error) failed.set(source, result.message);
    else results.push(result);
  }
  print(results);
  printErrors(failed);
  return failed.size > 0 ? 1 : 0;
}

export async function identitiesCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(identitiesSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(identitiesSpec));
    return 0;
  }
  const format = outputFormat(args.values);
  const base = adminEndpoint(args.values, env);
  const admin = (path: string) => new URL(path, base);
  const ids = args.positionals;

  switch (sub) {
    case 'import': {
      // Kratos: every file given, else standard input; each holds one identity or an array, named FILE[i].
      const files = ids.length > 0 ? ids : ['-'];
      const items: Array<[string, unknown]> = [];
      for (const file of files) {
        const parsed = parseJson(file, await readSource(file));
        (Array.isArray(parsed) ? parsed : [parsed]).forEach((item, i) => items.push([`${sourceName(file)}[${i}]`, item]));
      }
      return forEach(items, async (item) => {
        const res = await callAdmin(admin('admin/identities').toString(), { method: 'POST', body: JSON.stringify(item) });
        return res.status === 201 ? await res.json() as IdentityJson : adminFailure(res);
      }, (imported) => printIdentities(format, imported));
    }
    case 'list': {
      if (ids.length !== 0 && ids.length !== 2) throw new UsageError(`list expects zero or two arguments (PAGE_TOKEN PAGE_SIZE), got ${ids.length}`);
      const pageToken = ids.length === 2 ? ids[0] : args.values['page-token'] as string | undefined;
      const pageSize = ids.length === 2 ? ids[1] : (args.values['page-size'] as string | undefined) ?? '100';
      if (!/^[0-9]+$/.test(pageSize)) throw new UsageError(`page size must be a number, not "${pageSize}"`);
      const url = admin('admin/identities');
      url.searchParams.set('page_size', pageSize);
      if (pageToken) url.searchParams.set('page_token', pageToken);
      if (args.values.consistency) url.searchParams.set('consistency', String(args.values.consistency));
      const res = await callAdmin(url.toString());
      if (!res.ok) throw await adminFailure(res);
      const identities = await res.json() as IdentityJson[];
      const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      const nextPageToken = next ? new URL(next).searchParams.get('page_token') ?? '' : '';
      printTable(format, {
        header: IDENTITY_HEADER,
        rows: format === 'quiet' ? identities.map(identityColumns) : [...identities.map(identityColumns), [''], ['NEXT PAGE TOKEN', nextPageToken]],
        value: { identities, next_page_token: nextPageToken },
      });
      return 0;
    }
    case 'get': {
      if (ids.length === 0) throw new UsageError('get needs at least one identity ID');
      const include = [...(args.values['include-credentials'] as string[] | undefined) ?? [], ...(args.values['include-credential'] as string[] | undefined) ?? []];
      const path = args.values['external-id'] ? 'admin/identities/by/external/' : 'admin/identities/';
      return forEach(ids.map((id) => [id, id]), async (id) => {
        const url = admin(path + encodeURIComponent(id));
        for (const type of include) url.searchParams.append('include_credential', type);
        const res = await callAdmin(url.toString());
        return res.ok ? await res.json() as IdentityJson : adminFailure(res);
      }, (found) => printIdentities(format, found));
    }
    case 'delete': {
      if (ids.length === 0) throw new UsageError('delete needs at least one identity ID');
      return forEach(ids.map((id) => [id, id]), async (id) => {
        const res = await callAdmin(admin(`admin/identities/${encodeURIComponent(id)}`).toString(), { method: 'DELETE' });
        return res.ok ? id : adminFailure(res);
      }, (deleted) => {
        if (deleted.length === 1) printRow(format, { header: ['ID'], columns: [deleted[0]], value: deleted[0] });
        else if (deleted.length > 1) printTable(format, { header: ['ID'], rows: deleted.map((id) => [id]), value: deleted });
      });
    }
    case 'patch': {
      if (ids.length === 0) throw new UsageError('patch needs at least one identity ID');
      const files = (args.values.patch as string[] | undefined) ?? ['-'];
      if (files.filter((f) => f === '-').length > 1) throw new UsageError('standard input (-) can be read only once');
      const operations: unknown[] = [];
      for (const file of files) {
        const parsed = parseJson(file, await readSource(file));
        if (!Array.isArray(parsed)) throw new Error(`${sourceName(file)}: a JSON Patch is an array of operations ([{"op":"replace","path":"/traits/email","value":"..."}])`);
        operations.push(...parsed);
      }
      return forEach(ids.map((id) => [id, id]), async (id) => {
        const res = await callAdmin(admin(`admin/identities/${encodeURIComponent(id)}`).toString(), { method: 'PATCH', body: JSON.stringify(operations) });
        return res.ok ? await res.json() as IdentityJson : adminFailure(res);
      }, (patched) => printIdentities(format, patched));
    }
    default:
      throw new UsageError(`unknown subcommand "identities ${sub}" (use import, list, get, delete or patch)`);
  }
}
