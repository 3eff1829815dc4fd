import type { FlowRecord } from '../../src/persistence/store.ts';

/** A fresh API login flow (version 1, waiting for a method) created at `at`. */
export function flowRecord(at: Date, overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: crypto.randomUUID(), kind: 'login', type: 'api', state: 'choose_method', requestUrl: 'https://idflow.test/self-service/login/api',
    returnTo: null, csrfToken: null, identityId: null, snapshot: { value: 'choose_method', context: { attempts: 0 } }, internal: null,
    issuedAt: at, expiresAt: new Date(at.getTime() + 3_600_000), createdAt: at, updatedAt: at, version: 1, ...overrides,
  };
}
