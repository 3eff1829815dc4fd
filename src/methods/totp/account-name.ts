/**
 * The account name in a TOTP key (Kratos totp/schema_extension.go): the value of the trait whose identity schema
 * carries `"ory.sh/kratos": {"credentials": {"totp": {"account_name": true}}}`, else the identity id.
 */

type Node = Record<string, unknown>;

const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_DEPTH = 32;

/** The target of a local `$ref` (`#/definitions/x`) in `root`; the node itself otherwise. */
function resolve(root: Node, node: Node): Node {
  const ref = node.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#')) return node;
  let at: unknown = root;
  for (const token of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
    at = isObject(at) ? at[key] : undefined;
  }
  return isObject(at) ? at : node;
}

function isAccountName(node: Node): boolean {
  const ext = node['ory.sh/kratos'];
  if (!isObject(ext) || !isObject(ext.credentials) || !isObject(ext.credentials.totp)) return false;
  return ext.credentials.totp.account_name === true;
}

function find(root: Node, node: Node, value: unknown, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const schema = resolve(root, node);
  if (isAccountName(schema)) {
    const first = Array.isArray(value) ? value.find((v) => typeof v === 'string') : value;
    if (typeof first === 'string' && first.trim() !== '') return first.trim();
    if (typeof first === 'number' || typeof first === 'bigint') return String(first);
  }
  if (isObject(schema.properties) && isObject(value)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      if (!isObject(sub) || !Object.hasOwn(value, name)) continue;
      const found = find(root, sub, value[name], depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The TOTP account name of an identity: its `account_name` trait when set, else its id. */
export function totpAccountName(schemaRaw: object, traits: Record<string, unknown>, identityId: string): string {
  const root = schemaRaw as Node;
  const traitsSchema = isObject(root.properties) && isObject(root.properties.traits) ? root.properties.traits : undefined;
  if (!traitsSchema) return identityId;
  return find(root, traitsSchema, traits, 0) ?? identityId;
}
