/**
 * Turns a form-encoded body with dotted keys (`traits.name.first=...`) into nested objects, as Kratos accepts.
 * `__proto__`-style keys are dropped so a body can't reach object prototypes.
 * Superseded by decodeBody (./decode-body.ts), which follows Kratos's decoder (repeated keys, empty values,
 * booleans); this and coerceBySchema stay for the callers that still use them.
 */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export function unflatten(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    if (parts.some((p) => FORBIDDEN.has(p) || p === '')) continue;
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = Array.isArray(value) ? value[value.length - 1] : value;
  }
  return out;
}

/**
 * Form posts carry strings only; convert trait values to the types the identity schema declares
 * (number, integer, boolean) so the same body validates whether it came as JSON or as a form.
 */
export function coerceBySchema(value: unknown, schema: unknown): unknown {
  if (!schema || typeof schema !== 'object') return value;
  const s = schema as { type?: string | string[]; properties?: Record<string, unknown>; items?: unknown };
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (value && typeof value === 'object' && !Array.isArray(value) && s.properties) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = coerceBySchema(v, s.properties[k]);
    return out;
  }
  if (typeof value !== 'string') return value;
  if (types.includes('boolean') && (value === 'true' || value === 'false' || value === 'on')) return value !== 'false';
  if ((types.includes('number') || types.includes('integer')) && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (value === '' && !types.includes('string') && types.length > 0) return undefined;
  return value;
}
