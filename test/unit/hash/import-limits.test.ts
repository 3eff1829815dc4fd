import { afterAll, describe, expect, it } from 'vitest';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import { createPasswordHasher } from '../../../src/hash/index.ts';
import { hashersConfig } from './helpers.ts';

const hasher = createPasswordHasher(hashersConfig());
afterAll(() => hasher.close());

function importError(encoded: string): KratosError {
  try {
    hasher.assertImportable(encoded);
  } catch (err) {
    expect(err).toBeInstanceOf(KratosError);
    return err as KratosError;
  }
  throw new Error(`accepted ${encoded}`);
}

const SALT = 'cm94YnRVOW5jZzFzcVE4bQ';
const HASH = 'MNzk5BtR2vUhrp6qQEjRNw';

describe('assertImportable refuses costs over the limits (Kratos c52a99be2)', () => {
  it.each([
    ['argon2id m=4GiB', `$argon2id$v=19$m=4194304,t=2,p=4$${SALT}$${HASH}`, /argon2 m=4194304 KiB not in \[1, 1048576\]/],
    ['argon2id t=11', `$argon2id$v=19$m=65536,t=11,p=4$${SALT}$${HASH}`, /argon2 t=11/],
    ['argon2i p=17', `$argon2i$v=19$m=65536,t=3,p=17$${SALT}$${HASH}`, /argon2 p=17/],
    ['bcrypt cost 31', '$2a$31$abcdefghijklmnopqrstuugn/uitWMnDoOdJaSWqW1pjEXZ8eOSCqK', /bcrypt cost=31 exceeds max 15/],
    ['bcrypt cost 16', '$2b$16$abcdefghijklmnopqrstuugn/uitWMnDoOdJaSWqW1pjEXZ8eOSCqK', /bcrypt cost=16/],
    ['scrypt N=2^20', '$scrypt$ln=1048576,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA==', /scrypt N=1048576 not in \[1, 131072\]/],
    ['scrypt r=1024', '$scrypt$ln=16384,r=1024,p=1$c2FsdHNhbHRzYWx0$aGFzaA==', /scrypt r=1024/],
    ['firescrypt ln=18', '$firescrypt$ln=18,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA==$Bw==$a2V5a2V5', /firescrypt ln=18 exceeds max 17/],
    ['pbkdf2 i=20M', `$pbkdf2-sha256$i=20000000,l=32$${SALT}$${HASH}`, /pbkdf2 i=20000000 not in \[1, 10000000\]/],
    ['sha512-crypt rounds=5M', '$6$rounds=5000000$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0', /rounds=5000000 exceeds/],
  ])('%s', (_name, encoded, reason) => {
    const err = importError(encoded);
    expect(err.status).toBe(400);
    expect(err.reason).toMatch(/^hash parameters exceed allowed bounds: /);
    expect(err.reason).toMatch(reason);
    expect(err.toJSON().error).toMatchObject({ code: 400, status: 'Bad Request' });
  });

  it('and verify never runs them (false, quickly)', async () => {
    const started = performance.now();
    expect(await hasher.verify('test', `$argon2id$v=19$m=4194304,t=2,p=4$${SALT}$${HASH}`)).toBe(false);
    expect(await hasher.verify('test', '$2a$31$abcdefghijklmnopqrstuugn/uitWMnDoOdJaSWqW1pjEXZ8eOSCqK')).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('assertImportable refuses unknown formats', () => {
  it.each([
    ['plain text', 'hunter2'],
    ['empty', ''],
    ['unknown prefix', '$unknown$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6'],
    ['argon2d', `$argon2d$v=19$m=65536,t=3,p=4$${SALT}$${HASH}`],
    ['bcrypt $2x$', '$2x$10$abcdefghijklmnopqrstuugn/uitWMnDoOdJaSWqW1pjEXZ8eOSCqK'],
    ['{SSHAnotExistent}', '{SSHAnotExistent}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M='],
    ['$shaNotExistent$', '$shaNotExistent$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctp'],
    ['$hmac$ without digest', '$hmac$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=$MTIzNDU='],
    ['$7$ yescrypt', '$7$CU..../....SEIQt6Qdcbt8I2rXN0vx/b9dnUpERBRTEaUjRLAmJXp8$mXLDdOnS4g8zh1cjcZwyTFqH1U.Hn.4.yTRqTLZz/5B'],
  ])('%s', async (_name, encoded) => {
    const err = importError(encoded);
    expect(err.status).toBe(400);
    expect(err.reason).toBe('unsupported hash format');
    expect(await hasher.verify('hunter2', encoded)).toBe(false);
  });
});

describe('assertImportable refuses malformed hashes, naming the format', () => {
  it.each([
    ['argon2 v=16', `$argon2id$v=16$m=65536,t=3,p=4$${SALT}$${HASH}`, /^malformed argon2id hash: .*version 19/],
    ['argon2 missing part', `$argon2id$v=19$m=65536,t=3,p=4$${SALT}`, /^malformed argon2id hash/],
    ['argon2 padded salt', `$argon2id$v=19$m=65536,t=3,p=4$${SALT}==$${HASH}`, /^malformed argon2id hash: salt/],
    ['bcrypt short', '$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL', /^malformed bcrypt hash/],
    ['pbkdf2 no params', '$pbkdf2-sha256$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI', /^malformed pbkdf2 hash/],
    ['pbkdf2 bad params', '$pbkdf2-sha256$aaaa$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI', /^malformed pbkdf2 hash: parameters/],
    ['pbkdf2 trailing bits', '$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpJ', /^malformed pbkdf2 hash: hash/],
    ['scrypt N not a power of two', '$scrypt$ln=16385,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=', /^malformed scrypt hash: N must be a power of two/],
    ['scrypt bad base64', '$scrypt$ln=16384,r=8,p=1$(2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=', /^malformed scrypt hash: salt/],
    ['sha1 pf empty', '$sha1$pf=$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=', /^malformed sha1 hash: missing pf/],
    ['sha1 salt not base64', '$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$5opmkgz03r$2qU2SGWP8viTM1md3FiI3+rjWXQ=', /^malformed sha1 hash: salt/],
    ['md5 $$', '$md5$$', /^malformed md5 hash/],
    ['hmac missing key', '$hmac-md5$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=', /^malformed hmac-md5 hash/],
    ['{SSHA} too short', '{SSHA}tooshort', /^malformed ssha hash/],
    ['md5-crypt without salt section', '$md5-crypt$whuMjZj.HMFoaTaZRRtkO0', /^malformed md5-crypt hash/],
    ['sha256-crypt empty', '$sha256-crypt$$', /^malformed sha256-crypt hash/],
  ])('%s', (_name, encoded, reason) => {
    const err = importError(encoded);
    expect(err.status).toBe(400);
    expect(err.reason).toMatch(reason);
  });
});

describe('assertImportable accepts realistic hashes (Kratos hash_limits_test.go)', () => {
  it.each([
    '$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6',
    '$2a$15$GRvRO2nrpYTEuPQX6AieaOlZ4.7nMGsXpt.QWMev1zrP86JNspZbO',
    '$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw',
    '$argon2id$v=19$m=1048576,t=10,p=16$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw',
    '$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c',
    '$pbkdf2-sha256$i=10000000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI',
    '$scrypt$ln=131072,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=',
    '$firescrypt$ln=17,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2SfzPQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FITUVlnOAwPKyw==',
    '$md5$CY9rzUYh03PK3k6DJie09g==',
    '$sha256-crypt$rounds=535000$05R.9KB6UC2kLI3w$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78',
    '{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a',
  ])('%s', (encoded) => {
    expect(() => hasher.assertImportable(encoded)).not.toThrow();
  });
});
