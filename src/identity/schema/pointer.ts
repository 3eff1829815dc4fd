/** JSON Pointer (RFC 6901) helpers and resolution of schema-local `$ref`s. */

export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function joinPointer(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((t) => '/' + escapePointerToken(String(t))).join('');
}

/** Looks a pointer up in a JSON document; undefined when any step is missing. */
export function getByPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  if (!pointer.startsWith('/')) return undefined;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = unescapePointerToken(raw);
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, token)) return undefined;
      cur = (cur as Record<string, unknown>)[token];
    }
  }
  return cur;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Resolves a `$ref` that points into the same document: `#`, `#/json/pointer`, or `<root $id>#/...`.
 * Returns undefined for anything else (remote refs are refused at load time anyway).
 */
export function resolveLocalRef(root: unknown, ref: string): unknown {
  let fragment: string | undefined;
  if (ref.startsWith('#')) fragment = ref.slice(1);
  else if (isPlainObject(root) && typeof root.$id === 'string') {
    const hash = ref.indexOf('#');
    const base = hash >= 0 ? ref.slice(0, hash) : ref;
    if (stripFragment(root.$id) === base) fragment = hash >= 0 ? ref.slice(hash + 1) : '';
  }
  if (fragment === undefined) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(fragment);
  } catch {
    return undefined;
  }
  return getByPointer(root, decoded);
}

export function stripFragment(uri: string): string {
  const hash = uri.indexOf('#');
  return hash >= 0 ? uri.slice(0, hash) : uri;
}
