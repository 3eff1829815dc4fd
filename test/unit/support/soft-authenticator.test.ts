import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeAttestationObject, isoCBOR, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { b64url, SoftAuthenticator, type SoftAuthenticationResponse, type SoftRegistrationResponse } from '../../support/soft-authenticator.ts';

const rpID = 'localhost';
const origin = 'http://localhost:4455';
const userID = new TextEncoder().encode('user-0001');
type CBORType = Parameters<typeof isoCBOR.encode>[0];

const registrationOptions = (extra: Partial<Parameters<typeof generateRegistrationOptions>[0]> = {}) =>
  generateRegistrationOptions({ rpName: 'idflow', rpID, userName: 'alice@example.com', userID, attestationType: 'none', ...extra });

const verifyRegistration = (
  response: SoftRegistrationResponse,
  options: PublicKeyCredentialCreationOptionsJSON,
  extra: { expectedOrigin?: string; requireUserVerification?: boolean } = {},
) =>
  verifyRegistrationResponse({
    response: response as RegistrationResponseJSON,
    expectedChallenge: options.challenge,
    expectedOrigin: extra.expectedOrigin ?? origin,
    expectedRPID: rpID,
    requireUserVerification: extra.requireUserVerification ?? true,
  });

/** Registers one credential and returns what the RP would store. */
async function register(authenticator: SoftAuthenticator, extra: Parameters<typeof registrationOptions>[0] = {}) {
  const options = await registrationOptions(extra);
  const response = await authenticator.create(options, origin);
  const result = await verifyRegistration(response, options);
  expect(result.verified).toBe(true);
  return { options, response, credential: result.registrationInfo!.credential };
}

type Stored = Awaited<ReturnType<typeof register>>['credential'];

const verifyAuthentication = (
  response: SoftAuthenticationResponse,
  challenge: string,
  credential: Stored,
  extra: { requireUserVerification?: boolean; counter?: number } = {},
) =>
  verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: origin,
    expectedRPID: rpID,
    credential: { id: credential.id, publicKey: credential.publicKey, counter: extra.counter ?? credential.counter },
    requireUserVerification: extra.requireUserVerification ?? true,
  });

describe('b64url', () => {
  it('round-trips without padding', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const text = b64url.encode(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(b64url.decode(text)).toEqual(bytes);
    }
    expect(b64url.encode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(() => b64url.decode('ab+/')).toThrow();
  });
});

describe('SoftAuthenticator registration', () => {
  it('produces a "none" attestation that @simplewebauthn/server verifies', async () => {
    const authenticator = new SoftAuthenticator();
    const { response, credential } = await register(authenticator);

    expect(response.id).toBe(response.rawId);
    expect(response.type).toBe('public-key');
    expect(response.authenticatorAttachment).toBe('cross-platform');
    expect(credential.id).toBe(response.id);
    expect(credential.counter).toBe(0);
    expect(authenticator.credentials).toHaveLength(1);
    const [soft] = authenticator.credentials;
    expect(soft).toMatchObject({ id: response.id, rpId: rpID, userHandle: b64url.encode(userID), counter: 0, discoverable: true });
    expect(credential.publicKey).toEqual(soft.publicKeyCose);

    const clientData = JSON.parse(new TextDecoder().decode(b64url.decode(response.response.clientDataJSON)));
    expect(Object.keys(clientData)).toEqual(['type', 'challenge', 'origin', 'crossOrigin']);
    expect(clientData).toMatchObject({ type: 'webauthn.create', origin, crossOrigin: false });
  });

  it('encodes canonical CBOR and the authData layout', async () => {
    const aaguid = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const authenticator = new SoftAuthenticator({ aaguid, backupEligible: true });
    const options = await registrationOptions();
    const response = await authenticator.create(options, origin);
    const attestationObject = b64url.decode(response.response.attestationObject);

    // Re-encoding the decoded map (insertion order kept) yields the same bytes: keys were in canonical order.
    expect(isoCBOR.encode(isoCBOR.decodeFirst(attestationObject))).toEqual(attestationObject);
    const decoded = decodeAttestationObject(attestationObject);
    expect(decoded.get('fmt')).toBe('none');
    expect(decoded.get('attStmt').size).toBe(0);

    const authData = decoded.get('authData');
    const parsed = parseAuthenticatorData(authData);
    expect(parsed.rpIdHash).toEqual(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(rpID))));
    expect(parsed.flags.flagsInt).toBe(0x01 | 0x04 | 0x08 | 0x10 | 0x40);
    expect(parsed.counter).toBe(0);
    expect(parsed.aaguid).toEqual(aaguid);
    expect(b64url.encode(parsed.credentialID!)).toBe(response.id);
    expect(authData.length).toBe(37 + 16 + 2 + parsed.credentialID!.length + parsed.credentialPublicKey!.length);

    const cose = isoCBOR.decodeFirst<Map<number, CBORType>>(parsed.credentialPublicKey!);
    expect([...cose.keys()]).toEqual([1, 3, -1, -2, -3]);
    expect(cose.get(1)).toBe(2);
    expect(cose.get(3)).toBe(-7);
    expect(cose.get(-1)).toBe(1);
    expect((cose.get(-2) as Uint8Array).length).toBe(32);
    expect((cose.get(-3) as Uint8Array).length).toBe(32);
    expect(isoCBOR.encode(cose)).toEqual(parsed.credentialPublicKey);

    const result = await verifyRegistration(response, options);
    expect(result.registrationInfo).toMatchObject({ credentialDeviceType: 'multiDevice', credentialBackedUp: true, aaguid: '01020304-0506-0708-090a-0b0c0d0e0f10' });
  });

  it('honours residentKey: discouraged, and a key without resident-key storage', async () => {
    const authenticator = new SoftAuthenticator();
    await register(authenticator, { authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' } });
    expect(authenticator.credentials[0].discoverable).toBe(false);

    const plainKey = new SoftAuthenticator({ residentKeys: false });
    await register(plainKey);
    expect(plainKey.credentials[0].discoverable).toBe(false);
    const required = await registrationOptions({ authenticatorSelection: { residentKey: 'required' } });
    await expect(plainKey.create(required, origin)).rejects.toMatchObject({ name: 'NotAllowedError' });
  });

  it('refuses a second registration when excludeCredentials lists one of its credentials', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await register(authenticator);
    const options = await registrationOptions({ excludeCredentials: [{ id: credential.id }] });
    await expect(authenticator.create(options, origin)).rejects.toMatchObject({ name: 'InvalidStateError' });
    expect(authenticator.credentials).toHaveLength(1);

    // Another authenticator is not excluded; nor is this one for another RP ID.
    await new SoftAuthenticator().create(options, origin);
    const elsewhere = await generateRegistrationOptions({ rpName: 'other', rpID: 'other.test', userName: 'a', userID, excludeCredentials: [{ id: credential.id }] });
    await authenticator.create(elsewhere, 'https://other.test');
    expect(authenticator.credentials).toHaveLength(2);
  });

  it('refuses options without ES256', async () => {
    const options = await registrationOptions({ supportedAlgorithmIDs: [-257] });
    await expect(new SoftAuthenticator().create(options, origin)).rejects.toMatchObject({ name: 'NotSupportedError' });
  });

  describe('each override breaks verification', () => {
    const cases: Array<[string, Parameters<SoftAuthenticator['create']>[2], RegExp, { expectedOrigin?: string }?]> = [
      ['wrong origin', {}, /origin/i, { expectedOrigin: 'http://localhost:9999' }],
      ['wrong rpId', { rpId: 'evil.example' }, /RP ID/i],
      ['wrong challenge', { challenge: b64url.encode(new Uint8Array(32)) }, /challenge/i],
      ['wrong type', { type: 'webauthn.get' }, /type/i],
      ['UV missing', { userVerified: false }, /verification/i],
      ['UP missing', { userPresent: false }, /presen/i],
    ];
    it.each(cases)('%s', async (_, overrides, message, extra) => {
      const authenticator = new SoftAuthenticator();
      const options = await registrationOptions();
      const response = await authenticator.create(options, origin, overrides);
      await expect(verifyRegistration(response, options, extra)).rejects.toThrow(message);
    });

    it('without UV it still verifies when UV is not required', async () => {
      const options = await registrationOptions();
      const response = await new SoftAuthenticator({ userVerification: false }).create(options, origin);
      await expect(verifyRegistration(response, options)).rejects.toThrow(/verification/i);
      const result = await verifyRegistration(response, options, { requireUserVerification: false });
      expect(result.verified).toBe(true);
      expect(result.registrationInfo!.userVerified).toBe(false);
    });
  });
});

describe('SoftAuthenticator authentication', () => {
  it('signs assertions with allowCredentials that verify, with an increasing counter', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await register(authenticator, { authenticatorSelection: { residentKey: 'discouraged' } });
    let counter = credential.counter;
    for (const expected of [1, 2, 3]) {
      const options = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: credential.id }], userVerification: 'required' });
      const response = await authenticator.get(options, origin);
      expect(response.id).toBe(credential.id);
      expect(response.response.userHandle).toBeUndefined();
      const result = await verifyAuthentication(response, options.challenge, credential, { counter });
      expect(result.verified).toBe(true);
      expect(result.authenticationInfo.newCounter).toBe(expected);
      expect(result.authenticationInfo.userVerified).toBe(true);
      counter = result.authenticationInfo.newCounter;
    }
    expect(authenticator.credentials[0].counter).toBe(3);

    const options = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: credential.id }] });
    const withHandle = await authenticator.get(options, origin, { includeUserHandle: true });
    expect(withHandle.response.userHandle).toBe(b64url.encode(userID));
  });

  it('picks the first listed credential of its own for the RP ID', async () => {
    const authenticator = new SoftAuthenticator();
    const first = await register(authenticator);
    const second = await register(authenticator);
    const options = await generateAuthenticationOptions({
      rpID,
      allowCredentials: [{ id: b64url.encode(new Uint8Array(32)) }, { id: second.credential.id }, { id: first.credential.id }],
    });
    const response = await authenticator.get(options, origin);
    expect(response.id).toBe(second.credential.id);
    expect((await verifyAuthentication(response, options.challenge, second.credential)).verified).toBe(true);

    const unknown = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: b64url.encode(new Uint8Array(32)) }] });
    await expect(authenticator.get(unknown, origin)).rejects.toMatchObject({ name: 'NotAllowedError' });
    const otherRp = await generateAuthenticationOptions({ rpID: 'other.test', allowCredentials: [{ id: first.credential.id }] });
    await expect(authenticator.get(otherRp, 'https://other.test')).rejects.toMatchObject({ name: 'NotAllowedError' });
  });

  it('logs in discoverably with the newest passkey and returns its userHandle', async () => {
    const authenticator = new SoftAuthenticator();
    await register(authenticator);
    const bobID = new TextEncoder().encode('user-0002');
    const bob = await register(authenticator, { userID: bobID, userName: 'bob@example.com' });
    await register(authenticator, { userName: 'carol@example.com', authenticatorSelection: { residentKey: 'discouraged' } });

    const options = await generateAuthenticationOptions({ rpID });
    expect(options.allowCredentials ?? []).toEqual([]);
    const response = await authenticator.get(options, origin);
    expect(response.id).toBe(bob.credential.id);
    expect(response.response.userHandle).toBe(b64url.encode(bobID));
    expect((await verifyAuthentication(response, options.challenge, bob.credential)).verified).toBe(true);

    const noHandle = await authenticator.get(options, origin, { userHandle: null });
    expect(noHandle.response).not.toHaveProperty('userHandle');

    const otherRp = await generateAuthenticationOptions({ rpID: 'other.test' });
    await expect(authenticator.get(otherRp, 'https://other.test')).rejects.toMatchObject({ name: 'NotAllowedError' });
  });

  it('emits minimal DER signatures that OpenSSL verifies strictly', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await register(authenticator);
    const cose = isoCBOR.decodeFirst<Map<number, Uint8Array>>(credential.publicKey);
    const key = createPublicKey({
      format: 'jwk',
      key: { kty: 'EC', crv: 'P-256', x: b64url.encode(cose.get(-2)!), y: b64url.encode(cose.get(-3)!) },
    });
    const options = await generateAuthenticationOptions({ rpID });
    let highBit = 0;
    for (let i = 0; i < 64; i++) {
      const { response } = await authenticator.get(options, origin);
      const signature = b64url.decode(response.signature);
      expect(signature[0]).toBe(0x30);
      expect(signature[1]).toBe(signature.length - 2);
      for (let at = 2; at < signature.length; at += 2 + signature[at + 1]) {
        expect(signature[at]).toBe(0x02);
        const body = signature.subarray(at + 2, at + 2 + signature[at + 1]);
        expect(body.length).toBeLessThanOrEqual(33);
        if (body.length > 1) expect(body[0] === 0 ? body[1] & 0x80 : 1).toBeTruthy(); // no superfluous leading zero
        if (body.length === 33) highBit++;
      }
      const clientDataHash = new Uint8Array(await crypto.subtle.digest('SHA-256', b64url.decode(response.clientDataJSON)));
      const signed = Buffer.concat([b64url.decode(response.authenticatorData), clientDataHash]);
      expect(nodeVerify('sha256', signed, { key, dsaEncoding: 'der' }, signature)).toBe(true);
    }
    expect(highBit).toBeGreaterThan(0); // the 0x00 pad for r or s with the high bit set was exercised
  });

  describe('each override breaks verification', () => {
    async function setup() {
      const authenticator = new SoftAuthenticator();
      const { credential } = await register(authenticator);
      const options = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: credential.id }], userVerification: 'required' });
      return { authenticator, credential, options };
    }

    it('wrong origin', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, 'http://localhost:9999');
      await expect(verifyAuthentication(response, options.challenge, credential)).rejects.toThrow(/origin/i);
    });

    it('wrong rpId', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, origin, { rpId: 'evil.example' });
      await expect(verifyAuthentication(response, options.challenge, credential)).rejects.toThrow(/RP ID/i);
    });

    it('wrong challenge', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, origin, { challenge: b64url.encode(new Uint8Array(32)) });
      await expect(verifyAuthentication(response, options.challenge, credential)).rejects.toThrow(/challenge/i);
    });

    it('wrong type', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, origin, { type: 'webauthn.create' });
      await expect(verifyAuthentication(response, options.challenge, credential)).rejects.toThrow(/type/i);
    });

    it('UV missing when required', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, origin, { userVerified: false });
      await expect(verifyAuthentication(response, options.challenge, credential)).rejects.toThrow(/verification/i);
      expect((await verifyAuthentication(response, options.challenge, credential, { requireUserVerification: false })).verified).toBe(true);
    });

    it('UP missing', async () => {
      const { authenticator, credential, options } = await setup();
      const response = await authenticator.get(options, origin, { userPresent: false });
      await expect(verifyAuthentication(response, options.challenge, credential, { requireUserVerification: false })).rejects.toThrow(/present/i);
    });

    it('counter not increasing', async () => {
      const { authenticator, credential, options } = await setup();
      const first = await authenticator.get(options, origin);
      const { authenticationInfo } = await verifyAuthentication(first, options.challenge, credential);
      expect(authenticationInfo.newCounter).toBe(1);

      const replayed = await authenticator.get(options, origin, { counter: 1 });
      expect(authenticator.credentials[0].counter).toBe(1); // an overridden counter is not stored
      await expect(verifyAuthentication(replayed, options.challenge, credential, { counter: 1 })).rejects.toThrow(/counter/i);
      const lower = await authenticator.get(options, origin, { counter: 0 });
      await expect(verifyAuthentication(lower, options.challenge, credential, { counter: 1 })).rejects.toThrow(/counter/i);
      const next = await authenticator.get(options, origin);
      expect((await verifyAuthentication(next, options.challenge, credential, { counter: 1 })).authenticationInfo.newCounter).toBe(2);
    });

    it('signature by another credential', async () => {
      const { authenticator, credential, options } = await setup();
      const other = await register(authenticator);
      const signWith = authenticator.credentials.find((c) => c.id === other.credential.id)!;
      const response = await authenticator.get(options, origin, { signWith });
      expect(response.id).toBe(credential.id);
      expect((await verifyAuthentication(response, options.challenge, credential)).verified).toBe(false);
      expect((await verifyAuthentication(response, options.challenge, other.credential)).verified).toBe(true);
    });

    it('a credential id the RP did not list', async () => {
      const { authenticator, options } = await setup();
      const other = await register(authenticator);
      const response = await authenticator.get(options, origin, { credentialId: other.credential.id });
      expect(response.id).toBe(other.credential.id); // the RP must refuse a credential outside allowCredentials
      expect((await verifyAuthentication(response, options.challenge, other.credential)).verified).toBe(true);

      const forged = await authenticator.get(options, origin, { credentialId: b64url.encode(new Uint8Array(32)) });
      expect(forged.id).toBe(b64url.encode(new Uint8Array(32)));
    });
  });
});
