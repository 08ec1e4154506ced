import { createHash, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { utils } from 'ssh2';
import { NAME_PATTERN } from '@sysfleet/protocol';
import { fsyncDir } from '../fs-util';

/**
 * One-off SSH key pairs the agent makes for each child VM, so it can log in to the new guest and
 * install the agent there. The public half goes into the guest's seed (cloud-init, install.conf);
 * the private half stays in `<stateDir>/guest-keys/<child>` (mode 0600) and never leaves this host.
 */
export const GUEST_KEYS_DIR = 'guest-keys';

export interface GuestKeyPair {
  /** `ssh-ed25519 AAAA... sysfleet-<child>`: one authorized_keys line. */
  publicKey: string;
  /** OpenSSH `openssh-key-v1` PEM, unencrypted: what ssh2/node-ssh and ssh(1) accept. */
  privateKey: string;
  /** `SHA256:<base64>` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

const KEY_TYPE = 'ssh-ed25519';

/** An SSH wire-format `string`: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The raw 32-byte seed and public key of an Ed25519 KeyObject (from its JWK form). */
function rawEd25519(key: KeyObject): { seed: Buffer; pub: Buffer } {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('an Ed25519 private key is needed');
  return { seed: Buffer.from(jwk.d, 'base64url'), pub: Buffer.from(jwk.x, 'base64url') };
}

/** The public key blob (`string "ssh-ed25519", string key`) that OpenSSH base64s and fingerprints. */
function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

/** `SHA256:<base64 without padding>` of a public key blob, as ssh-keygen -l and sshd's log print it. */
export function openSshFingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * PROTOCOL.key's `openssh-key-v1` container, unencrypted (cipher and KDF "none"). ssh2 1.17 does
 * not parse PKCS#8 PEM Ed25519 keys ("Unsupported key format"), so this format is the one to use.
 */
export function encodeOpenSshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  // Padding 1, 2, 3, ... up to the cipher block size (8 for "none").
  const pad = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  section = Buffer.concat([section, pad]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob(pub)),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function assertChildName(child: string): void {
  // The name becomes a file name and a key comment: the pattern keeps out "/", "..", spaces and newlines.
  if (!NAME_PATTERN.test(child) || child.includes('..')) throw new Error(`invalid child name ${JSON.stringify(child.slice(0, 80))}`);
}

/** A fresh Ed25519 pair for `child`, commented `sysfleet-<child>`. */
export function generateGuestKeyPair(child: string): GuestKeyPair {
  assertChildName(child);
  const { privateKey } = generateKeyPairSync('ed25519');
  return guestKeyPairOf(privateKey, `sysfleet-${child}`);
}

function guestKeyPairOf(key: KeyObject, comment: string): GuestKeyPair {
  const { seed, pub } = rawEd25519(key);
  return {
    publicKey: `${KEY_TYPE} ${publicBlob(pub).toString('base64')} ${comment}`,
    privateKey: encodeOpenSshPrivateKey(seed, pub, comment),
    fingerprint: openSshFingerprint(publicBlob(pub)),
  };
}

/** The guest keys of this host's children, on disk in the state dir. */
export class GuestKeyStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, GUEST_KEYS_DIR);
  }

  fileOf(child: string): string {
    assertChildName(child);
    return path.join(this.dir, child);
  }

  /**
   * The child's key pair, made on first use. A resumed create finds the key it already put into the
   * guest's seed, so it can still log in. Two racing calls end up with one key: the file is published
   * with link(), which fails when it exists, and the loser reads the winner's key.
   */
  ensure(child: string): GuestKeyPair {
    const existing = this.load(child);
    if (existing) return existing;
    const file = this.fileOf(child);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') chmodSync(this.dir, 0o700);
    // Stored in OpenSSH form, so an operator debugging a guest can use it as it is: ssh -i <file>.
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, generateGuestKeyPair(child).privateKey);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
    fsyncDir(this.dir);
    const stored = this.load(child);
    if (!stored) throw new Error(`guest key for ${child} vanished while it was being made`);
    return stored;
  }

  /** The child's key pair, or undefined when it has none. */
  load(child: string): GuestKeyPair | undefined {
    const file = this.fileOf(child);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const parsed = utils.parseKey(text);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key || key.type !== KEY_TYPE || !key.isPrivateKey()) {
      throw new Error(`${file} does not hold an unencrypted Ed25519 private key${key instanceof Error ? `: ${key.message}` : ''}`);
    }
    const blob = key.getPublicSSH();
    return {
      publicKey: `${KEY_TYPE} ${blob.toString('base64')} sysfleet-${child}`,
      privateKey: text,
      fingerprint: openSshFingerprint(blob),
    };
  }

  /** Forgets the child's key (when the child is deleted). Deleting a key that is not there is fine. */
  delete(child: string): void {
    rmSync(this.fileOf(child), { force: true });
    try {
      fsyncDir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
