import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * The bytes an agent signs to prove it holds its key: host id (or "-" before enrolment),
 * the key's fingerprint, a timestamp and a single-use nonce.
 */
export function handshakeMessage(hostId: string | undefined, fingerprint: string, timestamp: number, nonce: string): Buffer {
  return Buffer.from(`sysfleet-agent-auth:v1:${hostId ?? '-'}:${fingerprint}:${timestamp}:${nonce}`, 'utf8');
}

/** Fingerprint of an Ed25519 public key in SPKI PEM: "SHA256:" + unpadded base64 of SHA-256 over the raw 32-byte key (what `sysfleet-agent fingerprint` prints). */
export function fingerprintOf(publicKeyPem: string): string {
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('public key is not Ed25519');
  const der = key.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  return 'SHA256:' + createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
}

/** Verifies a handshake signature; false (never a throw) for any malformed input. */
export function verifyHandshake(
  publicKeyPem: string,
  hostId: string | undefined,
  timestamp: number,
  nonce: string,
  signatureBase64: string,
): boolean {
  try {
    const fingerprint = fingerprintOf(publicKeyPem);
    return verify(null, handshakeMessage(hostId, fingerprint, timestamp, nonce), createPublicKey(publicKeyPem), Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}
