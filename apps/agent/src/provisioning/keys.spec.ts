import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import { SSH_PUBLIC_KEY_PATTERN } from '@sysfleet/protocol';
import { generateGuestKeyPair, GuestKeyStore } from './keys';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'guest-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What ssh-keygen (OpenSSH itself) makes of a key file. */
function sshKeygen(args: string[]): string {
  return execFileSync('ssh-keygen', args, { encoding: 'utf8' }).trim();
}

describe('generateGuestKeyPair', () => {
  it('makes an OpenSSH public key line whose fingerprint is the one ssh-keygen -lf prints', () => {
    const pair = generateGuestKeyPair('web1');
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} sysfleet-web1$/);
    expect(pair.publicKey).toMatch(SSH_PUBLIC_KEY_PATTERN);
    const pub = path.join(dir, 'web1.pub');
    writeFileSync(pub, pair.publicKey + '\n');
    expect(sshKeygen(['-lf', pub])).toBe(`256 ${pair.fingerprint} sysfleet-web1 (ED25519)`);
  });

  it('makes a private key that OpenSSH and ssh2 both read, holding the same public key', () => {
    const pair = generateGuestKeyPair('db-2.internal');
    const key = path.join(dir, 'key');
    writeFileSync(key, pair.privateKey, { mode: 0o600 });
    // ssh-keygen -y derives the public key from the private file: only a valid container gets this far.
    expect(sshKeygen(['-y', '-f', key])).toBe(pair.publicKey.split(' ').slice(0, 2).join(' ') + ' sysfleet-db-2.internal');
    const parsed = utils.parseKey(pair.privateKey);
    if (parsed instanceof Error || Array.isArray(parsed)) throw new Error(`ssh2 refused the key: ${String(parsed)}`);
    expect(parsed.type).toBe('ssh-ed25519');
    expect(parsed.isPrivateKey()).toBe(true);
    expect(parsed.getPublicSSH().toString('base64')).toBe(pair.publicKey.split(' ')[1]);
    // And it signs: the signature verifies with the public half.
    const data = Buffer.from('challenge');
    expect(parsed.verify(data, parsed.sign(data))).toBe(true);
  });

  it('makes a different key every time', () => {
    expect(generateGuestKeyPair('a').publicKey).not.toBe(generateGuestKeyPair('a').publicKey);
  });

  it('refuses names that could escape the key directory or break the key line', () => {
    for (const bad of ['../etc', 'a/b', 'a b', '', 'x\nssh-rsa AAAA', '.hidden', 'a..b']) expect(() => generateGuestKeyPair(bad)).toThrow(/invalid child name/);
  });
});

describe('GuestKeyStore', () => {
  it('keeps the private key in <stateDir>/guest-keys/<child> with mode 0600 and returns the same pair again', () => {
    const store = new GuestKeyStore(dir);
    const first = store.ensure('web1');
    const file = path.join(dir, 'guest-keys', 'web1');
    expect(readFileSync(file, 'utf8')).toBe(first.privateKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'guest-keys')).mode & 0o777).toBe(0o700);
    expect(store.ensure('web1')).toEqual(first);
    expect(new GuestKeyStore(dir).load('web1')).toEqual(first);
    expect(sshKeygen(['-lf', file])).toBe(`256 ${first.fingerprint} sysfleet-web1 (ED25519)`);
  });

  it('gives each child its own key and deletes one without touching the others', () => {
    const store = new GuestKeyStore(dir);
    const a = store.ensure('a');
    const b = store.ensure('b');
    expect(a.publicKey).not.toBe(b.publicKey);
    store.delete('a');
    expect(store.load('a')).toBeUndefined();
    expect(store.load('b')).toEqual(b);
    expect(() => store.delete('a')).not.toThrow();
    expect(() => new GuestKeyStore(path.join(dir, 'none')).delete('x')).not.toThrow();
  });

  it('reports a key file that is not a key instead of using it', () => {
    const store = new GuestKeyStore(dir);
    store.ensure('web1');
    writeFileSync(path.join(dir, 'guest-keys', 'web1'), 'garbage');
    expect(() => store.load('web1')).toThrow(/does not hold an unencrypted Ed25519 private key/);
  });

  it('refuses child names that are paths', () => {
    expect(() => new GuestKeyStore(dir).ensure('../agent.key')).toThrow(/invalid child name/);
  });
});
