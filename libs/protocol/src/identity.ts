import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';

/**
 * The bytes an agent signs to prove it holds its key: host id (or "-" before enrolment),
 * the key's fingerprint, a timestamp and a single-use nonce.
 */
export function handshakeMessage(hostId: string | undefined, fingerprint: string, timestamp: number, nonce: string): Buffer {
  return Buffer.from(`sysfleet-agent-auth:v1:${hostId ?? '-'}:${fingerprint}:${timestamp}:${nonce}`, 'utf8');
}

/** An Ed25519 public key parsed once from SPKI PEM, with its fingerprint (parsing is the costly part of a handshake). */
export interface ParsedPublicKey {
  key: KeyObject;
  fingerprint: string;
}

/** An Ed25519 SPKI is this 12-byte header and the raw 32-byte key. */
const ED25519_SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex');
const PLAIN_PEM = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n-----END PUBLIC KEY-----\r?\n?$/;

/** Parses an Ed25519 public key in SPKI PEM; throws when it is not one. */
export function parsePublicKey(publicKeyPem: string): ParsedPublicKey {
  const plain = PLAIN_PEM.exec(publicKeyPem);
  const der = plain ? Buffer.from(plain[1], 'base64') : null;
  if (der && der.length === 44 && der.subarray(0, 12).equals(ED25519_SPKI_HEADER)) {
    // The usual PEM: its raw key imported as a JWK skips OpenSSL 3's DER decoder (about 10 us instead
    // of 140 us here, the largest single item of a reconnect storm's CPU profile).
    const raw = der.subarray(12);
    return { key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }), fingerprint: fingerprintOfRaw(raw) };
  }
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('public key is not Ed25519');
  const spki = key.export({ format: 'der', type: 'spki' });
  return { key, fingerprint: fingerprintOfRaw(spki.subarray(spki.length - 32)) };
}

function fingerprintOfRaw(raw: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
}

/** Fingerprint of an Ed25519 public key in SPKI PEM: "SHA256:" + unpadded base64 of SHA-256 over the raw 32-byte key (what `sysfleet-agent fingerprint` prints). */
export function fingerprintOf(publicKeyPem: string): string {
  return parsePublicKey(publicKeyPem).fingerprint;
}

/**
 * Verifies a handshake signature; false (never a rejection) for any malformed input. Pass a
 * ParsedPublicKey to skip parsing the PEM again. The check runs on libuv's thread pool: in a
 * reconnect storm it was a twentieth of the server's event-loop time.
 */
export function verifyHandshake(
  publicKey: string | ParsedPublicKey,
  hostId: string | undefined,
  timestamp: number,
  nonce: string,
  signatureBase64: string,
): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const { key, fingerprint } = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
      verify(null, handshakeMessage(hostId, fingerprint, timestamp, nonce), key, Buffer.from(signatureBase64, 'base64'), (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
