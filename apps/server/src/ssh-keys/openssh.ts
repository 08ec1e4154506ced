import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * OpenSSH key formats, built and checked with node:crypto only: the one-line public key
 * (`ssh-ed25519 AAAA... comment`), its SHA256 fingerprint, and the unencrypted
 * `openssh-key-v1` private key format for Ed25519.
 */

export const SSH_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'] as const;
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

export class SshKeyFormatError extends Error {}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Reads the wire-format strings of a key blob; throws on truncation. */
function readStrings(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new SshKeyFormatError('the key data is truncated');
    const len = blob.readUInt32BE(at);
    at += 4;
    if (at + len > blob.length) throw new SshKeyFormatError('the key data is truncated');
    out.push(blob.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** An SSH mpint as unsigned big-endian bytes, for JWK. */
const unsignedInt = (b: Buffer) => (b.length > 1 && b[0] === 0 ? b.subarray(1) : b);

export function fingerprintOfBlob(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export interface ParsedPublicKey {
  type: SshKeyType;
  blob: Buffer;
  comment: string | null;
  /** `type base64` without the comment. */
  canonical: string;
  fingerprint: string;
}

/**
 * Checks one OpenSSH public key line: a supported type, base64 that decodes, an embedded type
 * equal to the stated one, and key material node:crypto accepts (a real curve point, RSA >= 2048 bits).
 */
export function parsePublicKey(line: string): ParsedPublicKey {
  const trimmed = line.trim();
  if (/[\r\n\0]/.test(trimmed)) throw new SshKeyFormatError('a public key is one line');
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?: (.{1,200}))?$/.exec(trimmed);
  if (!m) throw new SshKeyFormatError('expected "<type> <base64> [comment]"');
  const [, type, b64, comment] = m;
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) throw new SshKeyFormatError(`key type "${type}" is not supported (use ${SSH_KEY_TYPES.join(', ')})`);
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) throw new SshKeyFormatError('the key data is not valid base64');
  const parts = readStrings(blob);
  if (parts[0]?.toString('utf8') !== type) throw new SshKeyFormatError(`the key data says "${parts[0]?.toString('utf8') ?? ''}", not "${type}"`);
  try {
    if (type === 'ssh-ed25519') {
      if (parts.length !== 2 || parts[1].length !== 32) throw new SshKeyFormatError('an Ed25519 key is 32 bytes');
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: parts[1].toString('base64url') }, format: 'jwk' });
    } else if (type === 'ssh-rsa') {
      if (parts.length !== 3) throw new SshKeyFormatError('an RSA key has an exponent and a modulus');
      const key = createPublicKey({ key: { kty: 'RSA', e: unsignedInt(parts[1]).toString('base64url'), n: unsignedInt(parts[2]).toString('base64url') }, format: 'jwk' });
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new SshKeyFormatError('RSA keys must have at least 2048 bits');
    } else {
      const point = parts[2];
      if (parts.length !== 3 || parts[1].toString('utf8') !== 'nistp256' || point?.length !== 65 || point[0] !== 4) {
        throw new SshKeyFormatError('an ecdsa-sha2-nistp256 key holds an uncompressed P-256 point');
      }
      createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof SshKeyFormatError) throw e;
    throw new SshKeyFormatError(`the key material is not valid: ${(e as Error).message}`);
  }
  return { type: type as SshKeyType, blob, comment: comment ?? null, canonical: `${type} ${blob.toString('base64')}`, fingerprint: fingerprintOfBlob(blob) };
}

export interface GeneratedKeyPair {
  /** `ssh-ed25519 AAAA... comment` */
  publicKey: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` (unencrypted; seal it before storing). */
  privateKey: string;
  fingerprint: string;
}

/** A new Ed25519 pair in OpenSSH formats; `comment` must be one line. */
export function generateEd25519(comment: string): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  // Padding 1, 2, 3, ... up to the cipher block size (8 for "none").
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'binary'), sshString('none'), sshString('none'), sshString(Buffer.alloc(0)),
    Buffer.from([0, 0, 0, 1]), sshString(blob), sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    fingerprint: fingerprintOfBlob(blob),
  };
}
