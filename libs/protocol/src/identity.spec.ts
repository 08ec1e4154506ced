import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { fingerprintOf, handshakeMessage, parsePublicKey, verifyHandshake } from './identity';

describe('parsePublicKey / verifyHandshake', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const nonce = randomBytes(16).toString('base64url');
  const timestamp = Date.now();

  it('parses once and gives the same fingerprint as fingerprintOf', () => {
    const parsed = parsePublicKey(pem);
    expect(parsed.fingerprint).toBe(fingerprintOf(pem));
    expect(parsed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parsed.key.asymmetricKeyType).toBe('ed25519');
  });

  it('verifies with a parsed key exactly as with the PEM, and refuses a wrong host id', async () => {
    const parsed = parsePublicKey(pem);
    const signature = sign(null, handshakeMessage('h1', parsed.fingerprint, timestamp, nonce), privateKey).toString('base64');
    expect(await verifyHandshake(parsed, 'h1', timestamp, nonce, signature)).toBe(true);
    expect(await verifyHandshake(pem, 'h1', timestamp, nonce, signature)).toBe(true);
    expect(await verifyHandshake(parsed, 'h2', timestamp, nonce, signature)).toBe(false);
    expect(await verifyHandshake('not a key', 'h1', timestamp, nonce, signature)).toBe(false);
    expect(await verifyHandshake(parsed, 'h1', timestamp, nonce, 'AAAA')).toBe(false);
    expect(await verifyHandshake(parsed, 'h1', timestamp, nonce, '')).toBe(false);
  });

  it('fingerprints the raw key however the PEM is laid out (CRLF, no final newline, an EC key refused)', () => {
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const expected = 'SHA256:' + createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
    expect(parsePublicKey(pem).fingerprint).toBe(expected);
    expect(parsePublicKey(pem.replace(/\n/g, '\r\n')).fingerprint).toBe(expected);
    expect(parsePublicKey(pem.trimEnd()).fingerprint).toBe(expected);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => parsePublicKey(ec)).toThrow('not Ed25519');
    expect(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow();
  });

  it('reads an unusually laid out PEM (OpenSSL parses it) to the same key as the usual one', async () => {
    const usual = parsePublicKey(pem);
    const odd = parsePublicKey(`\n${pem}\n\n`);
    expect(odd.fingerprint).toBe(usual.fingerprint);
    expect(odd.key.equals(usual.key)).toBe(true);
    const signature = sign(null, handshakeMessage('h1', usual.fingerprint, timestamp, nonce), privateKey).toString('base64');
    expect(await verifyHandshake(odd, 'h1', timestamp, nonce, signature)).toBe(true);
  });

  it('refuses a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => parsePublicKey(rsa)).toThrow('not Ed25519');
  });
});
