import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentitySchemas } from '../../../src/identity/schema/index.ts';
import { b64, schemaDoc } from './helpers.ts';
import { referenceUrl } from '../../support/reference.ts';
import { fileURLToPath } from 'node:url';

const root = resolve(import.meta.dirname, '../../..');
const defaultPath = join(root, 'schemas/default.schema.json');
const examplePath = fileURLToPath(referenceUrl('identity.schema.example.json'));
const defaultText = readFileSync(defaultPath, 'utf8');

function urlSafeB64(text: string): string {
  return b64(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function loadError(url: string, id = 'broken'): Promise<Error> {
  try {
    await loadIdentitySchemas([{ id, url }], id);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected loading to fail');
}

describe('loadIdentitySchemas: sources', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/default.schema.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(defaultText);
      } else if (req.url === '/auth') {
        const ok = req.headers.authorization === `Basic ${b64('user:secret')}`;
        res.writeHead(ok ? 200 : 401);
        res.end(ok ? defaultText : 'unauthorized');
      } else if (req.url === '/slow') {
        // never answers within the test's timeout
        setTimeout(() => res.end('{}'), 5_000).unref();
      } else {
        res.writeHead(404);
        res.end('nope');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('loads file:// (absolute, relative to baseDir, localhost host)', async () => {
    const reg = await loadIdentitySchemas(
      [
        { id: 'abs', url: `file://${defaultPath}` },
        { id: 'rel', url: 'file://schemas/default.schema.json' },
        { id: 'dot', url: 'file://./schemas/default.schema.json' },
        { id: 'host', url: `file://localhost${defaultPath}` },
      ],
      'abs',
      { baseDir: root },
    );
    expect(reg.ids()).toEqual(['abs', 'rel', 'dot', 'host']);
    for (const id of reg.ids()) expect(reg.get(id)!.raw).toEqual(JSON.parse(defaultText));
    expect(reg.defaultId).toBe('abs');
  });

  it('loads base64:// (standard and url-safe, padded or not)', async () => {
    const text = JSON.stringify(schemaDoc({ nick: { type: 'string', title: 'Ñick ✓?>' } }));
    const reg = await loadIdentitySchemas(
      [
        { id: 'std', url: `base64://${b64(text)}` },
        { id: 'url', url: `base64://${urlSafeB64(text)}` },
      ],
      'std',
    );
    expect(reg.get('std')!.raw).toEqual(JSON.parse(text));
    expect(reg.get('url')!.raw).toEqual(JSON.parse(text));
  });

  it('loads http:// through fetch', async () => {
    const reg = await loadIdentitySchemas([{ id: 'remote', url: `${base}/default.schema.json` }], 'remote');
    expect(reg.require('remote').raw).toEqual(JSON.parse(defaultText));
    expect(reg.list()).toEqual([{ id: 'remote', schema: JSON.parse(defaultText) }]);
  });

  it('sends URL userinfo as basic auth', async () => {
    const url = base.replace('http://', 'http://user:secret@') + '/auth';
    const reg = await loadIdentitySchemas([{ id: 'auth', url }], 'auth');
    expect(reg.require('auth').raw).toEqual(JSON.parse(defaultText));
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response(defaultText, { status: 200 });
    }) as typeof fetch;
    await loadIdentitySchemas([{ id: 'x', url: 'https://schemas.example/x.json' }], 'x', { fetch: fakeFetch });
    expect(seen).toEqual(['https://schemas.example/x.json']);
  });

  it('reports HTTP errors and timeouts with id and url', async () => {
    const notFound = await loadError(`${base}/missing.json`, 'gone');
    expect(notFound.message).toContain('identity schema "gone"');
    expect(notFound.message).toContain(`${base}/missing.json`);
    expect(notFound.message).toContain('HTTP 404');

    await expect(
      loadIdentitySchemas([{ id: 'slow', url: `${base}/slow` }], 'slow', { timeoutMs: 200 }),
    ).rejects.toThrow(/identity schema "slow" .*timed out/);
  });

  it('loads the reference example schema', async () => {
    const reg = await loadIdentitySchemas([{ id: 'example', url: `file://${examplePath}` }], 'example');
    expect(reg.require('example').validateTraits({ email: 'a@b.co', newsletter: true })).toEqual([]);
  });

  it('reports a missing file, bad base64, bad JSON and unknown schemes', async () => {
    expect((await loadError('file:///nonexistent/x.json', 'f')).message).toMatch(/^identity schema "f" \(file:\/\/\/nonexistent\/x\.json\): reading .*ENOENT/);
    expect((await loadError('base64://%%%', 'b')).message).toMatch(/identity schema "b".*not valid base64/);
    expect((await loadError(`base64://${b64('{ nope')}`, 'j')).message).toMatch(/identity schema "j".*not valid JSON/);
    expect((await loadError('ftp://x/y.json', 'ftp')).message).toMatch(/identity schema "ftp".*unsupported URL scheme/);
  });

  it('requires the default id among the refs and unique ids', async () => {
    await expect(loadIdentitySchemas([{ id: 'a', url: `file://${defaultPath}` }], 'b')).rejects.toThrow(
      /default_schema_id "b"/,
    );
    await expect(
      loadIdentitySchemas(
        [
          { id: 'a', url: `file://${defaultPath}` },
          { id: 'a', url: `file://${defaultPath}` },
        ],
        'a',
      ),
    ).rejects.toThrow(/"a" is used more than once/);
    await expect(loadIdentitySchemas([], 'a')).rejects.toThrow(/at least one/);
  });

  it('does not print credentials from a schema URL', async () => {
    const err = await loadError(`http://user:secret@127.0.0.1:1/x.json?token=abc`, 'creds');
    expect(err.message).not.toContain('secret');
    expect(err.message).not.toContain('token=abc');
  });
});

describe('loadIdentitySchemas: refused schemas', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no traits', { type: 'object', properties: { foo: { type: 'string' } } }, /properties\.traits/],
    ['traits without properties', { type: 'object', properties: { traits: { type: 'object', properties: {} } } }, /at least one property/],
    ['traits not an object schema', { type: 'object', properties: { traits: { type: 'string', properties: { a: {} } } } }, /traits\.type" must be "object"/],
    ['not an object', [1, 2], /JSON object/],
    ['remote $ref (http)', schemaDoc({ email: { $ref: 'https://evil.example/s.json#/x' } }), /\$ref "https:\/\/evil\.example\/s\.json#\/x".*not allowed|leaves the schema document/],
    ['remote $ref (file)', schemaDoc({ email: { $ref: 'file:///etc/passwd' } }), /\$ref "file:\/\/\/etc\/passwd" .*leaves the schema document/],
    ['relative $ref', schemaDoc({ email: { $ref: 'other.json' } }), /leaves the schema document/],
    ['unknown extension key', schemaDoc({ email: { type: 'string', 'ory.sh/kratos': { credentials: { password: { identifer: true } } } } }), /unknown key "ory\.sh\/kratos\.credentials\.password\.identifer"/],
    ['unknown top-level extension key', schemaDoc({ email: { type: 'string', 'ory.sh/kratos': { magic: {} } } }), /unknown key "ory\.sh\/kratos\.magic"/],
    ['bad via', schemaDoc({ email: { type: 'string', 'ory.sh/kratos': { verification: { via: 'pigeon' } } } }), /verification\.via" must be one of "email", "sms"/],
    ['non-boolean identifier', schemaDoc({ email: { type: 'string', 'ory.sh/kratos': { credentials: { password: { identifier: 'yes' } } } } }), /must be a boolean/],
    ['verification on a non-address format', schemaDoc({ site: { type: 'string', format: 'uri', 'ory.sh/kratos': { verification: { via: 'email' } } } }), /must have format email, tel/],
    ['nested unknown extension key', schemaDoc({ name: { type: 'object', properties: { first: { type: 'string', 'ory.sh/kratos': { bogus: true } } } } }), /unknown key "ory\.sh\/kratos\.bogus" at "\/properties\/traits\/properties\/name\/properties\/first"/],
    ['unsupported $schema', { ...schemaDoc({ a: { type: 'string' } }), $schema: 'http://json-schema.org/draft-03/schema#' }, /unsupported \$schema/],
    ['invalid JSON Schema', schemaDoc({ a: { type: 'strin' } }), /invalid JSON Schema/],
  ];

  for (const [name, doc, pattern] of cases) {
    it(`refuses ${name}`, async () => {
      const err = await loadError(`base64://${b64(JSON.stringify(doc))}`, `bad-${name.replace(/\W+/g, '-')}`);
      expect(err.message).toContain(`identity schema "bad-${name.replace(/\W+/g, '-')}" (base64://`);
      expect(err.message).toMatch(pattern);
      expect(err.message).not.toContain('\n');
    });
  }

  it('accepts local $refs (#/definitions and the root $id)', async () => {
    const doc = {
      $id: 'https://idflow.dev/schemas/ref.json',
      $schema: 'http://json-schema.org/draft-07/schema#',
      definitions: { mail: { type: 'string', format: 'email', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } } },
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            email: { $ref: '#/definitions/mail' },
            backup: { $ref: 'https://idflow.dev/schemas/ref.json#/definitions/mail' },
          },
        },
      },
    };
    const reg = await loadIdentitySchemas([{ id: 'ref', url: `base64://${b64(JSON.stringify(doc))}` }], 'ref');
    const s = reg.require('ref');
    expect(s.validateTraits({ email: 'nope' })[0]).toMatchObject({ pointer: '/traits/email', id: 4000040 });
    expect(s.extract({ email: 'A@B.co', backup: 'c@d.co' }).identifiers.password).toEqual(['a@b.co', 'c@d.co']);
  });

  it('does not mistake data for $refs (enum/default values, property names)', async () => {
    const doc = schemaDoc({
      $ref: { type: 'string' },
      thing: { type: 'object', default: { $ref: 'https://not-a-ref.example' } },
    });
    await expect(loadIdentitySchemas([{ id: 'ok', url: `base64://${b64(JSON.stringify(doc))}` }], 'ok')).resolves.toBeDefined();
  });

  it('compiles 2019-09 and 2020-12 schemas', async () => {
    const mk = (dialect: string) => ({
      $schema: dialect,
      $defs: { mail: { type: 'string', format: 'email' } },
      type: 'object',
      properties: { traits: { type: 'object', properties: { email: { $ref: '#/$defs/mail' } }, required: ['email'] } },
    });
    const reg = await loadIdentitySchemas(
      [
        { id: '2019', url: `base64://${b64(JSON.stringify(mk('https://json-schema.org/draft/2019-09/schema')))}` },
        { id: '2020', url: `base64://${b64(JSON.stringify(mk('https://json-schema.org/draft/2020-12/schema')))}` },
      ],
      '2019',
    );
    for (const id of ['2019', '2020']) {
      const s = reg.require(id);
      expect(s.validateTraits({ email: 'a@b.co' })).toEqual([]);
      expect(s.validateTraits({ email: 'a@x.com,b@y.com' })[0]).toMatchObject({ pointer: '/traits/email', id: 4000040 });
      expect(s.validateTraits({})[0]).toMatchObject({ pointer: '/traits/email', id: 4000002 });
    }
  });

  it('resolves relative file:// against the working directory by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idflow-schema-'));
    writeFileSync(join(dir, 's.json'), defaultText);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const reg = await loadIdentitySchemas([{ id: 'cwd', url: 'file://s.json' }], 'cwd');
      expect(reg.require('cwd').id).toBe('cwd');
    } finally {
      process.chdir(cwd);
    }
  });
});
