/**
 * `idflow identities …` as a script uses Kratos's `kratos import|list|get|delete identities`: the real CLI process
 * (dist/) against a real server. Many ids per call, failures per id on standard error with exit code 1, and
 * --format table|json|json-pretty|yaml|jsonpointer and --quiet as ory/x cmdx prints them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../../support/cli.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;
const BCRYPT = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';
const MISSING = '00000000-0000-4000-8000-000000000000';

for (const db of testDatabases()) {
  describe(`idflow identities (${db.name})`, () => {
    let server: TestServer;
    let drop: (() => Promise<void>) | undefined;
    let env: Record<string, string>;
    const dir = mkdtempSync(join(tmpdir(), 'idflow-identities-'));
    const cli = (args: string[], input?: string) => runCli(['identities', ...args], { env, input });
    const email = (name: string) => `${name}-${db.name}@example.com`;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn);
      env = { IDFLOW_ADMIN_URL: server.adminUrl };
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    it('imports from several files and from standard input, naming each failed item FILE[i]', async () => {
      const a = join(dir, 'a.json');
      const b = join(dir, 'b.json');
      writeFileSync(a, JSON.stringify([
        { schema_id: 'default', traits: { email: email('imp1') }, credentials: { password: { config: { hashed_password: BCRYPT } } } },
        { schema_id: 'default', traits: { email: email('imp2') } },
      ]));
      writeFileSync(b, JSON.stringify({ schema_id: 'default', traits: { email: email('imp3') } }));
      const imported = await cli(['import', a, b, '--format', 'json']);
      expect(imported.code, imported.stderr).toBe(0);
      const identities = JSON.parse(imported.stdout) as Json[];
      expect(identities.map((i) => i.traits.email).sort()).toEqual([email('imp1'), email('imp2'), email('imp3')]);

      // Standard input when no file is given; one identity prints as a row (HEADER<tab>value), quiet as its id.
      const row = await cli(['import'], JSON.stringify({ schema_id: 'default', traits: { email: email('imp4') } }));
      expect(row.code, row.stderr).toBe(0);
      expect(row.stdout).toMatch(/^ID\t+[0-9a-f-]{36}\t+\n/);
      expect(row.stdout).toMatch(new RegExp(`^VERIFIED ADDRESSES\\t+${email('imp4')}\\t+$`, 'm'));
      expect(row.stdout).toMatch(/^SCHEMA ID\t+default\t+$/m);

      // A duplicate and a valid one: the valid one is imported, the duplicate is reported, exit code 1.
      const mixed = join(dir, 'mixed.json');
      writeFileSync(mixed, JSON.stringify([{ schema_id: 'default', traits: { email: email('imp1') } }, { schema_id: 'default', traits: { email: email('imp5') } }]));
      const partial = await cli(['import', mixed, '-q']);
      expect(partial.code).toBe(1);
      expect(partial.stdout.trim().split('\n')).toHaveLength(1);
      expect(partial.stderr).toContain(`${mixed}[0]: admin API answered 409`);

      const fromDash = await cli(['import', '-', '--format', 'yaml'], JSON.stringify([{ schema_id: 'default', traits: { email: email('imp6') } }, { schema_id: 'default', traits: { email: 'not an email' } }]));
      expect(fromDash.code).toBe(1);
      // One imported identity prints as a row: the object itself, not a list.
      expect(parseYaml(fromDash.stdout)).toMatchObject({ traits: { email: email('imp6') } });
      expect(fromDash.stderr).toMatch(/^STD_IN\[1\]: admin API answered 400/m);

      const notJson = await cli(['import', join(dir, 'missing.json')]);
      expect(notJson.code).toBe(1);
      expect(notJson.stderr).toContain('ENOENT');
    });

    it('gets and deletes many ids: a table for several, an error line per failed id, exit code 1 if any failed', async () => {
      const imported = await cli(['import', '-q'], JSON.stringify([1, 2, 3].map((n) => ({ schema_id: 'default', traits: { email: email(`many${n}`) }, external_id: `ext-${db.name}-${n}` }))));
      expect(imported.code, imported.stderr).toBe(0);
      const ids = imported.stdout.trim().split('\n');
      expect(ids).toHaveLength(3);

      const table = await cli(['get', ids[0], ids[1]]);
      expect(table.code, table.stderr).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0].split(/\t+/).filter(Boolean)).toEqual(['ID', 'EXTERNAL ID', 'VERIFIED ADDRESSES', 'RECOVERY ADDRESSES', 'SCHEMA ID', 'SCHEMA URL']);
      expect(lines.slice(1).map((l) => l.split(/\t+/).slice(0, 5))).toEqual([0, 1].map((i) => [ids[i], `ext-${db.name}-${i + 1}`, email(`many${i + 1}`), email(`many${i + 1}`), 'default']));

      const some = await cli(['get', ids[0], MISSING, ids[2], '--format', 'json-pretty']);
      expect(some.code).toBe(1);
      expect((JSON.parse(some.stdout) as Json[]).map((i) => i.id)).toEqual([ids[0], ids[2]]);
      expect(some.stdout).toContain('\n  {');
      expect(some.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${MISSING}: admin API answered 404`))]);

      const byExternal = await cli(['get', '--external-id', `ext-${db.name}-2`, '--format', 'jsonpointer=/traits/email']);
      expect(byExternal).toMatchObject({ code: 0, stdout: `"${email('many2')}"\n` });
      const withCredentials = await cli(['get', ids[0], '-i', 'password', '--format', 'json']);
      expect(JSON.parse(withCredentials.stdout).credentials).toBeDefined();

      const deleted = await cli(['delete', ids[0], ids[1], MISSING, '--format', 'json']);
      expect(deleted.code).toBe(1);
      expect(JSON.parse(deleted.stdout)).toEqual([ids[0], ids[1]]);
      expect(deleted.stderr).toMatch(new RegExp(`^${MISSING}: admin API answered 404`, 'm'));
      const gone = await cli(['get', ids[0], ids[1], ids[2], '-q']);
      expect(gone.code).toBe(1);
      expect(gone.stdout).toBe(`${ids[2]}\n`);
      const one = await cli(['delete', ids[2]]);
      expect(one).toMatchObject({ code: 0, stdout: `ID\t${ids[2]}\t\n` });
    });

    it('patches many identities with a JSON Patch from files or standard input', async () => {
      const imported = await cli(['import', '-q'], JSON.stringify([1, 2].map((n) => ({ schema_id: 'default', traits: { email: email(`patch${n}`) } }))));
      const ids = imported.stdout.trim().split('\n');
      const first = join(dir, 'patch1.json');
      const second = join(dir, 'patch2.json');
      writeFileSync(first, JSON.stringify([{ op: 'add', path: '/metadata_public', value: { plan: 'free' } }]));
      writeFileSync(second, JSON.stringify([{ op: 'replace', path: '/metadata_public/plan', value: 'pro' }]));
      const patched = await cli(['patch', ...ids, MISSING, '--patch', first, '--patch', second, '--format', 'json']);
      expect(patched.code).toBe(1);
      expect((JSON.parse(patched.stdout) as Json[]).map((i) => [i.id, i.metadata_public])).toEqual(ids.map((id) => [id, { plan: 'pro' }]));
      expect(patched.stderr).toMatch(new RegExp(`^${MISSING}: admin API answered 404`, 'm'));

      const fromStdin = await cli(['patch', ids[0], '--format', 'jsonpointer=/state'], JSON.stringify([{ op: 'replace', path: '/state', value: 'inactive' }]));
      expect(fromStdin).toMatchObject({ code: 0, stdout: '"inactive"\n' });
      const refused = await cli(['patch', ids[0]], JSON.stringify([{ op: 'replace', path: '/id', value: MISSING }]));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${ids[0]}: admin API answered 400`);
      const notAPatch = await cli(['patch', ids[0]], JSON.stringify({ op: 'replace' }));
      expect(notAPatch.code).toBe(1);
      expect(notAPatch.stderr).toContain('STD_IN: a JSON Patch is an array');
    });

    it('lists a page as Kratos does: a table ending in NEXT PAGE TOKEN, or {identities, next_page_token}', async () => {
      await cli(['import', '-q'], JSON.stringify([1, 2, 3].map((n) => ({ schema_id: 'default', traits: { email: email(`list${n}`) } }))));
      const first = await cli(['list', '--page-size', '2', '--format', 'json']);
      expect(first.code, first.stderr).toBe(0);
      const page = JSON.parse(first.stdout) as { identities: Json[]; next_page_token: string };
      expect(page.identities).toHaveLength(2);
      expect(page.next_page_token).not.toBe('');
      // Kratos's positional form: list PAGE_TOKEN PAGE_SIZE.
      const second = await cli(['list', page.next_page_token, '2', '--format', 'yaml']);
      expect(second.code, second.stderr).toBe(0);
      const next = parseYaml(second.stdout) as { identities: Json[] };
      expect(next.identities.map((i) => i.id)).not.toContain(page.identities[0].id);

      const table = await cli(['list', '--page-size', '1']);
      expect(table.code).toBe(0);
      const lines = table.stdout.replace(/\n$/, '').split('\n');
      expect(lines[0]).toMatch(/^ID\t+EXTERNAL ID\t+VERIFIED ADDRESSES/);
      expect(lines.at(-1)).toMatch(/^NEXT PAGE TOKEN\t+\S+\t+$/);
      expect((await cli(['list', 'only-one'])).code).toBe(1);
      expect((await cli(['list', '--format', 'xml'])).stderr).toContain('--format must be');
    });

    it('exits 1 with a reason when the admin API cannot be reached', async () => {
      const result = await runCli(['identities', 'get', MISSING, '-e', 'http://127.0.0.1:9']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('cannot reach the admin API');
    });
  });
}
