/**
 * The `ory.sh/kratos` identity schema extension: walks the schema alongside an identity's (valid) traits and
 * collects credential identifiers and verifiable/recovery addresses, normalised and de-duplicated.
 */
import type { CompiledSchema } from './compile.ts';
import { EXTENSION_KEY } from './meta.ts';
import { normalizeIdentifier, type IdentifierKind } from './normalize.ts';
import { escapePointerToken, isPlainObject, resolveLocalRef, stripFragment } from './pointer.ts';
import type { AddressVia, ExtractedTraits } from './types.ts';

interface KratosExtension {
  credentials?: {
    password?: { identifier?: boolean };
    webauthn?: { identifier?: boolean };
    passkey?: { display_name?: boolean };
    totp?: { account_name?: boolean };
    code?: { identifier?: boolean; via?: AddressVia };
  };
  verification?: { via?: AddressVia };
  recovery?: { via?: AddressVia };
  organizations?: { matcher?: 'email_domain' };
}

type SchemaNode = Record<string, unknown>;

const MAX_DEPTH = 128;

class Collector {
  readonly out: ExtractedTraits = {
    identifiers: { password: [], webauthn: [], code: [] },
    verifiableAddresses: [],
    recoveryAddresses: [],
    organizationMatchers: [],
  };
  private readonly seen = new Set<string>();

  private once(list: string, key: string): boolean {
    const k = `${list}\u0000${key}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }

  apply(ext: KratosExtension, node: SchemaNode, value: unknown): void {
    const raw = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    if (raw.length === 0) return;
    const kind = fieldKind(ext, node);
    const c = ext.credentials ?? {};
    for (const v of raw) {
      const identifier = normalizeIdentifier(v, kind);
      if (identifier !== '') {
        if (c.password?.identifier === true && this.once('password', identifier)) this.out.identifiers.password.push(identifier);
        if (c.webauthn?.identifier === true && this.once('webauthn', identifier)) this.out.identifiers.webauthn.push(identifier);
      }
      if (c.code?.identifier === true) {
        const via: AddressVia = c.code.via ?? (kind === 'sms' ? 'sms' : 'email');
        const value = normalizeIdentifier(v, via);
        if (value !== '' && this.once(`code:${via}`, value)) this.out.identifiers.code.push({ value, via });
      }
      const display = v.trim();
      if (c.passkey?.display_name === true && display !== '' && this.out.identifiers.passkeyDisplayName === undefined) {
        this.out.identifiers.passkeyDisplayName = display;
      }
      if (c.totp?.account_name === true && display !== '' && this.out.identifiers.totpAccountName === undefined) {
        this.out.identifiers.totpAccountName = display;
      }
      const verifyVia = ext.verification?.via;
      if (verifyVia) {
        const value = normalizeIdentifier(v, verifyVia);
        if (value !== '' && this.once(`verify:${verifyVia}`, value)) this.out.verifiableAddresses.push({ value, via: verifyVia });
      }
      const recoverVia = ext.recovery?.via;
      if (recoverVia) {
        const value = normalizeIdentifier(v, recoverVia);
        if (value !== '' && this.once(`recover:${recoverVia}`, value)) this.out.recoveryAddresses.push({ value, via: recoverVia });
      }
      if (ext.organizations?.matcher === 'email_domain') {
        const value = normalizeIdentifier(v, 'email');
        if (value !== '' && this.once('org', value)) this.out.organizationMatchers.push(value);
      }
    }
  }
}

/** How a field's values normalise: by format first, then by any `via` the extension names. */
function fieldKind(ext: KratosExtension, node: SchemaNode): IdentifierKind {
  if (node.format === 'email') return 'email';
  if (node.format === 'tel') return 'sms';
  const vias = [ext.credentials?.code?.via, ext.verification?.via, ext.recovery?.via];
  if (vias.includes('email')) return 'email';
  if (vias.includes('sms')) return 'sms';
  return 'text';
}

function refPointer(root: SchemaNode, ref: string): string | undefined {
  if (ref.startsWith('#')) return safeDecode(ref.slice(1));
  const rootId = typeof root.$id === 'string' ? stripFragment(root.$id) : undefined;
  if (rootId && stripFragment(ref) === rootId) {
    const hash = ref.indexOf('#');
    return hash >= 0 ? safeDecode(ref.slice(hash + 1)) : '';
  }
  return undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function compilePattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

export function extractTraits(root: SchemaNode, compiled: CompiledSchema, traits: unknown): ExtractedTraits {
  const collector = new Collector();

  const matches = (pointer: string, value: unknown): boolean => {
    const fn = compiled.sub(pointer);
    return fn ? fn(value) === true : false;
  };

  const walk = (node: unknown, value: unknown, pointer: string, depth: number): void => {
    if (!isPlainObject(node) || depth > MAX_DEPTH) return;

    if (typeof node.$ref === 'string') {
      const target = resolveLocalRef(root, node.$ref);
      const tp = refPointer(root, node.$ref);
      if (target !== undefined && tp !== undefined) walk(target, value, tp, depth + 1);
    }

    const ext = node[EXTENSION_KEY];
    if (isPlainObject(ext)) collector.apply(ext as KratosExtension, node, value);

    if (Array.isArray(node.allOf)) node.allOf.forEach((s, i) => walk(s, value, `${pointer}/allOf/${i}`, depth + 1));
    for (const kw of ['anyOf', 'oneOf'] as const) {
      const list = node[kw];
      if (!Array.isArray(list)) continue;
      list.forEach((s, i) => {
        const p = `${pointer}/${kw}/${i}`;
        if (matches(p, value)) walk(s, value, p, depth + 1);
      });
    }
    if (node.if !== undefined && (node.then !== undefined || node.else !== undefined)) {
      if (matches(`${pointer}/if`, value)) walk(node.then, value, `${pointer}/then`, depth + 1);
      else walk(node.else, value, `${pointer}/else`, depth + 1);
    }

    if (isPlainObject(value)) {
      const props = isPlainObject(node.properties) ? node.properties : {};
      const patterns = isPlainObject(node.patternProperties)
        ? Object.entries(node.patternProperties).map(([src, s]) => ({ src, re: compilePattern(src), s }))
        : [];
      for (const [key, v] of Object.entries(value)) {
        let covered = false;
        if (Object.prototype.hasOwnProperty.call(props, key)) {
          covered = true;
          walk(props[key], v, `${pointer}/properties/${escapePointerToken(key)}`, depth + 1);
        }
        for (const { src, re, s } of patterns) {
          if (re?.test(key)) {
            covered = true;
            walk(s, v, `${pointer}/patternProperties/${escapePointerToken(src)}`, depth + 1);
          }
        }
        if (!covered && isPlainObject(node.additionalProperties)) {
          walk(node.additionalProperties, v, `${pointer}/additionalProperties`, depth + 1);
        }
      }
    } else if (Array.isArray(value)) {
      const prefix = Array.isArray(node.prefixItems) ? node.prefixItems : Array.isArray(node.items) ? node.items : undefined;
      const prefixKw = Array.isArray(node.prefixItems) ? 'prefixItems' : 'items';
      const rest = Array.isArray(node.prefixItems)
        ? { s: node.items, kw: 'items' }
        : Array.isArray(node.items)
          ? { s: node.additionalItems, kw: 'additionalItems' }
          : { s: node.items, kw: 'items' };
      value.forEach((item, i) => {
        if (prefix && i < prefix.length) walk(prefix[i], item, `${pointer}/${prefixKw}/${i}`, depth + 1);
        else walk(rest.s, item, `${pointer}/${rest.kw}`, depth + 1);
      });
    }
  };

  const traitsNode = isPlainObject(root.properties) ? root.properties.traits : undefined;
  walk(traitsNode, traits, '/properties/traits', 0);
  return collector.out;
}
