/**
 * Operator SSH keys over HTTP against the real server and Postgres: a generated pair's private key
 * is handed out once and logs in to a real OpenSSH sshd; it is never shown again, is stored only
 * sealed and never reaches the server's log. Imported public keys, listing, the public key as
 * text, deletion and refusals that name the field.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ApiClient, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { ServerProcess, startServer } from '../support/server';
import { SshdProcess, startSshd } from '../support/sshd';

interface SshKey { id: string; name: string; publicKey: string; fingerprint: string; generated: boolean; createdBy: string; privateKey?: string }

/** The body of an OpenSSH private key, without its armour lines. */
const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

describe('SSH keys API', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let api: ApiClient;
  let sshd: SshdProcess;
  let pg: Client;
  const dir = mkdtempSync(path.join(tmpdir(), 'sf-ssh-keys-'));

  beforeAll(async () => {
    db = await createTestDatabase('sshkeys');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('sshkeys') });
    api = await login(server.url);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    sshd = await startSshd();
  });

  afterAll(async () => {
    await pg?.end();
    await sshd?.stop();
    await server?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a pair whose private key is returned once, logs in over SSH, and is then only stored sealed', async () => {
    const res = await api.post<SshKey>('/api/ssh-keys', { name: 'ops-generated', generate: true });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = res.body;
    expect(created).toMatchObject({ name: 'ops-generated', generated: true, createdBy: 'admin' });
    expect(created.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ ops-generated$/);
    expect(created.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);

    // What an operator does with it: save it, derive the public key, log in with it.
    const file = path.join(dir, 'id_ed25519');
    writeFileSync(file, created.privateKey!, { mode: 0o600 });
    expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(created.publicKey);
    writeFileSync(sshd.authorizedKeysFile, `${created.publicKey}\n`);
    const out = execFileSync('ssh', [
      '-i', file, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
      '-p', String(sshd.port), `${sshd.user}@${sshd.host}`, 'echo logged-in-with-generated-key',
    ], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('logged-in-with-generated-key');

    // Never again: neither the list nor the public key route carries it.
    const listed = (await api.get<SshKey[]>('/api/ssh-keys')).body.find((k) => k.id === created.id);
    expect(listed).toMatchObject({ id: created.id, generated: true, publicKey: created.publicKey, fingerprint: created.fingerprint });
    expect(listed).not.toHaveProperty('privateKey');
    const pub = await api.get(`/api/ssh-keys/${created.id}/public`);
    expect(pub.body).toBe(`${created.publicKey}\n`);

    // At rest it is sealed: neither the armour nor the key's base64 body is in Postgres, nor in the log.
    const { rows } = await pg.query(`SELECT "privateKeyEncrypted" FROM ssh_keys WHERE id = $1`, [created.id]);
    const stored = rows[0].privateKeyEncrypted as string;
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain(keyBody(created.privateKey!).slice(0, 40));
    const all = JSON.stringify((await pg.query(`SELECT * FROM ssh_keys`)).rows) + JSON.stringify((await pg.query(`SELECT * FROM audit_events`)).rows);
    expect(all).not.toContain(keyBody(created.privateKey!).slice(0, 40));
    expect(server.logs()).not.toContain(keyBody(created.privateKey!).slice(0, 40));
  });

  it('imports a public key (no private key in the answer), lists it, serves it as text and deletes it', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', path.join(dir, 'laptop')]);
    const line = execFileSync('ssh-keygen', ['-y', '-f', path.join(dir, 'laptop')], { encoding: 'utf8' }).trim();
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'laptop.pub')], { encoding: 'utf8' }).split(' ')[1];
    const res = await api.post<SshKey>('/api/ssh-keys', { name: 'laptop', publicKey: `${line} me@laptop` });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'laptop', generated: false, publicKey: `${line} me@laptop`, fingerprint });
    expect(res.body).not.toHaveProperty('privateKey');

    expect((await api.get<SshKey[]>('/api/ssh-keys')).body.map((k) => k.name)).toEqual(expect.arrayContaining(['laptop', 'ops-generated']));
    const text = await api.get(`/api/ssh-keys/${res.body.id}/public`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.body).toBe(`${line} me@laptop\n`);

    expect((await api.delete(`/api/ssh-keys/${res.body.id}`)).status).toBe(204);
    expect((await api.get<SshKey[]>('/api/ssh-keys')).body.map((k) => k.name)).not.toContain('laptop');
    expect((await api.get(`/api/ssh-keys/${res.body.id}/public`)).status).toBe(404);
    expect((await api.delete(`/api/ssh-keys/${res.body.id}`)).status).toBe(404);
  });

  it('refuses an invalid key, a bad name and a taken name, naming the field; nothing is stored', async () => {
    const before = (await api.get<SshKey[]>('/api/ssh-keys')).body.length;
    const badKey = await api.post('/api/ssh-keys', { name: 'broken', publicKey: 'ssh-ed25519 AAAAnotakey' });
    expect(badKey.status).toBe(400);
    expect(badKey.body).toMatchObject({ code: 'SSH_KEY_INVALID', details: [{ field: 'publicKey' }] });
    expect(badKey.body.message).toMatch(/^publicKey: /);

    const badName = await api.post('/api/ssh-keys', { name: '-starts-with-dash', generate: true });
    expect(badName.status).toBe(400);
    expect(badName.body).toMatchObject({ code: 'COMMON_VALIDATION', details: [{ field: 'name' }] });

    const both = await api.post('/api/ssh-keys', { name: 'both', generate: true, publicKey: 'ssh-ed25519 AAAA' });
    expect(both.status).toBe(400);
    const taken = await api.post('/api/ssh-keys', { name: 'ops-generated', generate: true });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('SSH_KEY_NAME_TAKEN');
    expect((await api.get<SshKey[]>('/api/ssh-keys')).body).toHaveLength(before);
  });
});
