/** `idflow jsonnet lint|format` (Kratos: kratos lint jsonnet, kratos format jsonnet) as the real CLI process. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

describe('idflow jsonnet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idflow-jsonnet-'));
  const file = (name: string, source: string) => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };

  it.skipIf(jsonnetMissing)('lint passes mappers that need inputs to run and names each broken file with its location; exit 1 if any', async () => {
    const mapper = file('oidc.jsonnet', "local claims = std.extVar('claims');\n{ identity: { traits: { email: claims.email } } }\n");
    const hook = file('hook.jsonnet', 'function(ctx) { email: ctx.identity.traits.email }\n');
    expect(await runCli(['jsonnet', 'lint', mapper, hook])).toMatchObject({ code: 0, stdout: '', stderr: '' });

    const unknown = file('unknown.jsonnet', '{\n  a: 1,\n  b: claims.email,\n}\n');
    const syntax = file('syntax.jsonnet', '{ a: 1 b: 2 }\n');
    const firstLine = file('first-line.jsonnet', '{ a: nope }\n');
    const result = await runCli(['jsonnet', 'lint', mapper, unknown, syntax, firstLine, join(dir, 'missing.jsonnet')]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines).toContainEqual(`${unknown}: STATIC ERROR: ${unknown}:3:6-12: Unknown variable: claims`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${syntax}: STATIC ERROR: ${syntax}:1:`)));
    expect(lines).toContainEqual(`${firstLine}: STATIC ERROR: ${firstLine}:1:6-10: Unknown variable: nope`);
    expect(lines).toContainEqual(`${join(dir, 'missing.jsonnet')}: cannot read it: ENOENT`);
  });

  it('format prints each file as jsonnetfmt would; --write rewrites them in place', async () => {
    const mapper = file('mapper.jsonnet', 'local claims = std.extVar("claims");\n{identity: {traits: {"email": claims.email, # from the provider\n}}}');
    const hook = file('hook.jsonnet', 'function(ctx) {\n    email: ctx.identity.traits["email"] }\n');
    const formattedMapper = "local claims = std.extVar('claims');\n{ identity: { traits: {\n  email: claims.email,  // from the provider\n} } }\n";
    const formattedHook = 'function(ctx) {\n  email: ctx.identity.traits.email,\n}\n';
    expect(await runCli(['jsonnet', 'format', mapper, hook])).toEqual({ code: 0, stdout: formattedMapper + formattedHook, stderr: '' });
    expect(readFileSync(mapper, 'utf8')).toContain('"claims"');

    expect(await runCli(['jsonnet', 'format', '--write', mapper, hook])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(mapper, 'utf8')).toBe(formattedMapper);
    expect(readFileSync(hook, 'utf8')).toBe(formattedHook);
  });

  it('format names a file with a syntax error (line and column), leaves it as it is, formats the others and exits 1', async () => {
    const broken = file('broken.jsonnet', '{\n  a: 1 b: 2 }\n');
    const good = file('good.jsonnet', '{a:1}');
    const result = await runCli(['jsonnet', 'format', '-w', broken, good, join(dir, 'absent.jsonnet')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${broken}: ${broken}:2:8: expected a comma before next field`,
      `${join(dir, 'absent.jsonnet')}: cannot read it: ENOENT`,
    ]);
    expect(readFileSync(broken, 'utf8')).toBe('{\n  a: 1 b: 2 }\n');
    expect(readFileSync(good, 'utf8')).toBe('{ a: 1 }\n');
  });

  it('help describes format and no longer says it is unavailable', async () => {
    const help = await runCli(['jsonnet', '--help']);
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('format rewrites each file as jsonnetfmt does');
    expect(help.stdout).not.toContain('not available');
  });
});
