/**
 * Loads the configured identity schemas (`identity.schemas[{id, url}]`) from file://, base64:// or http(s)://,
 * checks and compiles them. Every failure is an Error with a one-line message naming the schema id and URL.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { cwd } from 'node:process';
import type { IdentitySchemaRef } from '../../../config/types.ts';
import { IdentitySchema } from './identity-schema.ts';
import { IdentitySchemaRegistry } from './registry.ts';

export interface LoadIdentitySchemasOptions {
  fetch?: typeof fetch;
  /** Base folder for relative file:// URLs (default: the process's working directory). */
  baseDir?: string;
  /** Remote fetch timeout in ms (default 10 000). */
  timeoutMs?: number;
}

const MAX_SCHEMA_BYTES = 5 * 1024 * 1024;

/** A URL safe to print: userinfo and query removed, long base64 payloads shortened. */
export function displayUrl(url: string): string {
  let out = url;
  if (/^https?:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      u.username = '';
      u.password = '';
      u.search = '';
      u.hash = '';
      out = u.toString();
    } catch {
      out = url.replace(/\/\/[^/@]*@/, '//');
    }
  }
  out = out.replace(/[\r\n\t]/g, ' ');
  return out.length > 100 ? `${out.slice(0, 97)}...` : out;
}

function decodeBase64Payload(payload: string): string {
  const clean = payload.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw new Error('the base64:// payload is not valid base64');
  const unpadded = clean.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) throw new Error('the base64:// payload is not valid base64');
  const b64 = unpadded.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (unpadded.length % 4)) % 4);
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new Error('the base64:// payload is not valid base64');
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('the base64:// payload is not UTF-8 text');
  }
}

function filePath(url: string, baseDir: string | undefined): string {
  let rest = url.slice('file://'.length);
  // file://localhost/abs/path is the absolute path /abs/path.
  if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length);
  const q = rest.search(/[?#]/);
  if (q >= 0) rest = rest.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    path = rest;
  }
  if (path === '') throw new Error('the file:// URL has no path');
  return isAbsolute(path) ? path : resolve(baseDir ?? cwd(), path);
}

async function fetchText(url: string, opts: LoadIdentitySchemasOptions): Promise<string> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { accept: 'application/schema+json, application/json' };
  let target = url;
  try {
    // fetch() refuses URLs with userinfo: send it as HTTP basic auth, as Go's client does.
    const u = new URL(url);
    if (u.username || u.password) {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      const bytes = new TextEncoder().encode(`${user}:${pass}`);
      headers.authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
      u.username = '';
      u.password = '';
      target = u.toString();
    }
  } catch {
    throw new Error('the schema URL is not a valid URL');
  }
  let res: Response;
  try {
    res = await doFetch(target, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') throw new Error(`fetching the schema timed out after ${timeoutMs} ms`);
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new Error(`fetching the schema failed: ${cause.split(target).join(displayUrl(url)).split(url).join(displayUrl(url))}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`fetching the schema failed: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_SCHEMA_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`the schema is larger than ${MAX_SCHEMA_BYTES} bytes`);
  }
  const text = await res.text();
  if (text.length > MAX_SCHEMA_BYTES) throw new Error(`the schema is larger than ${MAX_SCHEMA_BYTES} bytes`);
  return text;
}

/** Reads the schema document's text from its URL. */
export async function readSchemaSource(url: string, opts: LoadIdentitySchemasOptions = {}): Promise<string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file': {
      const path = filePath(url, opts.baseDir);
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(`reading ${path} failed${code ? ` (${code})` : ''}`);
      }
    }
    case 'base64':
      return decodeBase64Payload(url.slice('base64://'.length));
    case 'http':
    case 'https':
      return fetchText(url, opts);
    default:
      throw new Error('unsupported URL scheme (use file://, base64://, http:// or https://)');
  }
}

/** Loads, parses, checks and compiles one schema; errors name the schema id and URL. */
export async function loadIdentitySchema(ref: IdentitySchemaRef, opts: LoadIdentitySchemasOptions = {}): Promise<IdentitySchema> {
  const prefix = `identity schema "${ref.id}" (${displayUrl(ref.url ?? '')})`;
  try {
    if (typeof ref.url !== 'string' || ref.url === '') throw new Error('no url configured');
    const text = await readSchemaSource(ref.url, opts);
    let raw: unknown;
    try {
      raw = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new Error(`the schema is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('the schema must be a JSON object');
    return new IdentitySchema({
      id: ref.id,
      url: ref.url,
      raw: raw as Record<string, unknown>,
      selfserviceSelectable: ref.selfservice_selectable,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${prefix}: ${msg.replace(/\s*\n\s*/g, ' ')}`, { cause: err });
  }
}

export async function loadIdentitySchemas(
  refs: IdentitySchemaRef[],
  defaultId: string,
  opts: LoadIdentitySchemasOptions = {},
): Promise<IdentitySchemaRegistry> {
  if (!Array.isArray(refs) || refs.length === 0) throw new Error('identity.schemas: at least one identity schema must be configured');
  const seen = new Set<string>();
  for (const ref of refs) {
    if (typeof ref?.id !== 'string' || ref.id === '') throw new Error('identity.schemas: every schema needs a non-empty id');
    if (seen.has(ref.id)) throw new Error(`identity.schemas: the schema id "${ref.id}" is used more than once`);
    seen.add(ref.id);
  }
  if (!seen.has(defaultId)) {
    throw new Error(`identity.default_schema_id "${defaultId}" is not among identity.schemas (${[...seen].map((s) => `"${s}"`).join(', ')})`);
  }
  const schemas = await Promise.all(refs.map((ref) => loadIdentitySchema(ref, opts)));
  return new IdentitySchemaRegistry(schemas, defaultId);
}
