/**
 * The request bodies of the model's client actions that are one plain submission — the same whether the paths are
 * replayed over HTTP (test/e2e/model) or through the flow service in-process (test/unit/flows). Actions that need
 * more (mailed codes, an administrator, the clock) stay with each replay.
 */
export interface ActionRun {
  email: string;
  password: string;
  /** Counts the actions of a path (unique values per step). */
  counter: number;
}

export function plainActionBody(kind: string, action: string, run: ActionRun): Record<string, unknown> | undefined {
  switch (`${kind}:${action}`) {
    case 'login:submit correct password':
      return { method: 'password', identifier: run.email, password: run.password };
    case 'login:submit wrong password':
      return { method: 'password', identifier: run.email, password: `${run.password} but wrong` };
    case 'login:submit unknown method':
    case 'registration:submit unknown method':
      return { method: 'carrier-pigeon' };
    case 'registration:submit profile traits':
      return { method: 'profile', traits: { email: run.email } };
    case 'registration:go back to the traits':
      return { method: 'profile', screen: 'previous', traits: { email: run.email } };
    case 'registration:submit invalid traits':
    case 'settings:submit invalid traits':
      return { method: 'profile', traits: { email: 'not an e-mail' } };
    case 'registration:submit valid password':
      return { method: 'password', traits: { email: run.email }, password: run.password };
    case 'settings:change the name':
      return { method: 'profile', traits: { email: run.email, name: { first: `Name ${run.counter}` } } };
    case 'settings:change the password':
      run.password = `a brand new passphrase number ${run.counter}`;
      return { method: 'password', password: run.password };
    case 'settings:reuse the current password':
      return { method: 'password', password: run.password };
    case 'settings:generate backup codes':
      return { method: 'lookup_secret', lookup_secret_regenerate: true };
    case 'recovery:submit an invalid address':
    case 'recovery:ask for a new code for an invalid address':
    case 'verification:submit an invalid address':
    case 'verification:ask for a new code for an invalid address':
      return { method: 'code', email: 'not an e-mail' };
    default:
      return undefined;
  }
}

/**
 * The OpenID Connect provider both replays test a login of (`browser test login`): `op1` at the test OP, its claims
 * mapped to the default schema's e-mail.
 */
export function testLoginProvider(issuer: string) {
  const mapper = "local claims = std.extVar('claims'); { identity: { traits: { email: claims.email } } }";
  return {
    id: 'op1', provider: 'generic', client_id: 'model-client', client_secret: 'model-secret-0123456789', issuer_url: issuer,
    mapper_url: `base64://${Buffer.from(mapper).toString('base64')}`, scope: ['email'],
  };
}
