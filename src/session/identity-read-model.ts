/**
 * whoami's read model of an identity: the identity's JSON as a session shows it (toIdentityJson without credentials
 * or admin metadata), WITHOUT `id`, `schema_id`, `schema_url` and `state` — the URL depends on the configured public
 * base, and the others are read from the identity's row — which are spliced in when the answer is written
 * (identityJsonText). Addresses are in the order the lookup reads them.
 *
 * Kept beside the identity's row by every write of it (the SQL identity repository's save), so the whoami lookup
 * reads no address rows, and the answer's `identity` is text already serialized instead of rows parsed, mapped and
 * serialized again on every request. What whoami decides on is never taken from it: the identity's state is its
 * row's, and its credential kinds (the AAL it can reach, aal.ts) are read from its credentials every time.
 */
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';

const byCreatedThenValue = (a: { createdAt: Date; value: string }, b: { createdAt: Date; value: string }) =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

/** Addresses in the order whoami shows them: by creation time, then value. Sorts in place. */
export const sortAddresses = <T extends { createdAt: Date; value: string }>(addresses: T[]): T[] =>
  addresses.length > 1 ? addresses.sort(byCreatedThenValue) : addresses;

export function identityPublicJson(record: IdentityRecord): string {
  const ordered = {
    ...record,
    verifiableAddresses: sortAddresses([...record.verifiableAddresses]),
    recoveryAddresses: sortAddresses([...record.recoveryAddresses]),
  };
  const { id, schema_id, schema_url, state, ...rest } = toIdentityJson(ordered, { schemaUrl: () => '', admin: false, credentials: false });
  return JSON.stringify(rest);
}

/**
 * The identity's JSON from its read model: `id`, `schema_id`, `schema_url` and `state` first, as toIdentityJson writes
 * them; the state is the row's own, like every column whoami decides on.
 */
export function identityJsonText(key: Pick<IdentityRecord, 'id' | 'schemaId' | 'state'>, schemaUrl: string, publicJson: string): string {
  return `{"id":${JSON.stringify(key.id)},"schema_id":${JSON.stringify(key.schemaId)},"schema_url":${JSON.stringify(schemaUrl)},`
    + `"state":${JSON.stringify(key.state)},${publicJson.slice(1)}`;
}
