import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Actor } from '../auth/auth.decorators';
import { AppError } from '../common/errors';
import { SecretBox } from '../common/secret-box';
import { EnvironmentVariables } from '../config/config';
import { generateEd25519, parsePublicKey } from './openssh';
import { toCreatedSshKeyDto, toSshKeyDto } from './ssh-keys.dto';
import { SshKeyEntity } from './ssh-keys.entity';
import type { NewSshKey, SshKeysRepository } from './ssh-keys.repository';
import { SshKeysService } from './ssh-keys.service';

const actor: Actor = { userId: 'u1', username: 'alice', role: 'operator' };
const sshString = (b: Buffer | string) => {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};
const haveSshKeygen = (() => {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { status?: number }).status !== undefined && (e as { code?: string }).code !== 'ENOENT';
  }
})();

function setup() {
  const rows: SshKeyEntity[] = [];
  const repo = {
    insert: jest.fn(async (k: NewSshKey) => {
      if (rows.some((r) => r.name === k.name)) return null;
      const row = { ...k, id: `k${rows.length + 1}`, createdAt: new Date() } as SshKeyEntity;
      rows.push(row);
      return row;
    }),
    findByIds: jest.fn(async (ids: string[]) => rows.filter((r) => ids.includes(r.id))),
  };
  const box = new SecretBox(Object.assign(new EnvironmentVariables(), { SYSFLEET_SECRET: 'x'.repeat(40) }));
  return { service: new SshKeysService(repo as unknown as SshKeysRepository, box), rows, box };
}

describe('OpenSSH keys', () => {
  it('generates an Ed25519 pair whose private key OpenSSH reads back to the same public key', () => {
    const pair = generateEd25519('ops@fleet');
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} ops@fleet$/);
    expect(parsePublicKey(pair.publicKey).fingerprint).toBe(pair.fingerprint);
    if (!haveSshKeygen) return;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sf-key-')), 'id');
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    expect(execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim()).toBe(pair.publicKey);
    expect(execFileSync('ssh-keygen', ['-l', '-f', file]).toString()).toContain(pair.fingerprint);
  });

  it('accepts real RSA and ECDSA P-256 keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const rsaBlob = Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from(rsa.e!, 'base64url')), sshString(Buffer.concat([Buffer.from([0]), Buffer.from(rsa.n!, 'base64url')]))]);
    expect(parsePublicKey(`ssh-rsa ${rsaBlob.toString('base64')} me`).type).toBe('ssh-rsa');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(ec.x!, 'base64url'), Buffer.from(ec.y!, 'base64url')]);
    const ecBlob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
    expect(parsePublicKey(`ecdsa-sha2-nistp256 ${ecBlob.toString('base64')}`).comment).toBeNull();
  });

  it.each([
    ['an unknown type', 'ssh-dss AAAAB3NzaC1kc3M=', /not supported/],
    ['base64 that does not decode cleanly', 'ssh-ed25519 AAAA$$$', /expected/],
    ['a blob naming another type', `ssh-ed25519 ${Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.alloc(32))]).toString('base64')}`, /says "ssh-rsa"/],
    ['a short Ed25519 key', `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31))]).toString('base64')}`, /32 bytes/],
    ['truncated data', `ssh-ed25519 ${sshString('ssh-ed25519').subarray(0, 8).toString('base64')}`, /truncated/],
    ['a point off the curve', `ecdsa-sha2-nistp256 ${Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]))]).toString('base64')}`, /not valid/],
    ['two lines', `${generateEd25519('a').publicKey}\nssh-ed25519 AAAA`, /one line/],
  ])('refuses %s', (_what, line, message) => {
    expect(() => parsePublicKey(line)).toThrow(message);
  });
});

describe('SshKeysService', () => {
  it('stores a generated private key sealed, never in the clear', async () => {
    const t = setup();
    const { key, privateKey } = await t.service.create({ name: 'ops', generate: true }, actor);
    expect(key.privateKeyEncrypted).not.toContain('PRIVATE KEY');
    expect(t.box.open(key.privateKeyEncrypted!)).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(key.publicKey).toMatch(/ ops$/);
    // The clear private key handed back once is the pair of the stored public key.
    expect(privateKey).toBe(t.box.open(key.privateKeyEncrypted!));
    expect(toCreatedSshKeyDto(key, privateKey)).toMatchObject({ id: key.id, generated: true, privateKey });
    expect(toSshKeyDto(key)).not.toHaveProperty('privateKey');
  });

  it('imports a public key and refuses a bad one with a clear error', async () => {
    const t = setup();
    const pub = generateEd25519('me@laptop').publicKey;
    const imported = await t.service.create({ name: 'laptop', publicKey: pub }, actor);
    expect(imported.key.privateKeyEncrypted).toBeNull();
    expect(imported.privateKey).toBeNull();
    expect(toCreatedSshKeyDto(imported.key, imported.privateKey)).not.toHaveProperty('privateKey');
    const e = await t.service.create({ name: 'bad', publicKey: 'ssh-ed25519 AAAA' }, actor).catch((err: AppError) => err);
    expect((e as AppError).code).toBe('SSH_KEY_INVALID');
    expect(((await t.service.create({ name: 'laptop', generate: true }, actor).catch((err: AppError) => err)) as AppError).code).toBe('SSH_KEY_NAME_TAKEN');
    expect(((await t.service.create({ name: 'x' }, actor).catch((err: AppError) => err)) as AppError).code).toBe('SSH_KEY_BAD_REQUEST');
  });

  it('names the stored keys it cannot find', async () => {
    const t = setup();
    await t.service.create({ name: 'ops', generate: true }, actor);
    await expect(t.service.publicKeysOf(['k1'])).resolves.toHaveLength(1);
    await expect(t.service.publicKeysOf(['k1', 'k404'])).rejects.toThrow(/k404/);
  });
});
