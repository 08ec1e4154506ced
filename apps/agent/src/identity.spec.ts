import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fingerprintOf, HandshakeAuth, parsePayload, verifyHandshake } from '@sysfleet/protocol';
import { Identity, StateStore } from './identity';

describe('Identity', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sfa-id-'));
    dir = path.join(root, 'state');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates the key on first start with private modes', () => {
    const id = Identity.loadOrCreate(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'agent.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'agent.pub'), 'utf8')).toBe(id.publicKeyPem);
    expect(id.fingerprint).toBe(fingerprintOf(id.publicKeyPem));
    expect(id.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('keeps the same identity across restarts, and a new dir is a new identity', () => {
    const first = Identity.loadOrCreate(dir).fingerprint;
    expect(Identity.loadOrCreate(dir).fingerprint).toBe(first);
    expect(Identity.loadOrCreate(path.join(root, 'other')).fingerprint).not.toBe(first);
  });

  it('signs handshakes the server can verify, fresh each time', async () => {
    const id = Identity.loadOrCreate(dir);
    const hostId = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
    const a = id.sign(hostId);
    const b = id.sign(hostId);
    expect(parsePayload(HandshakeAuth, a).ok).toBe(true);
    expect(a.nonce).not.toBe(b.nonce);
    expect(await verifyHandshake(a.publicKey, a.hostId, a.timestamp, a.nonce, a.signature)).toBe(true);
    expect(await verifyHandshake(a.publicKey, undefined, a.timestamp, a.nonce, a.signature)).toBe(false);
    expect(await verifyHandshake(a.publicKey, a.hostId, a.timestamp + 1, a.nonce, a.signature)).toBe(false);
    const enrol = id.sign(undefined);
    expect(enrol.hostId).toBeUndefined();
    expect(await verifyHandshake(enrol.publicKey, undefined, enrol.timestamp, enrol.nonce, enrol.signature)).toBe(true);
  });

  it('refuses a key file that is not a private key', () => {
    Identity.loadOrCreate(dir);
    writeFileSync(path.join(dir, 'agent.key'), 'garbage');
    expect(() => Identity.loadOrCreate(dir)).toThrow(/does not hold a private key/);
  });
});

describe('StateStore', () => {
  it('remembers the host id and drops invalid values', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sfa-state-'));
    const store = new StateStore(dir);
    expect(store.load()).toEqual({});
    store.save({ hostId: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', status: 'approved' });
    expect(new StateStore(dir).load()).toEqual({ hostId: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', status: 'approved' });
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ hostId: '../etc', status: 'boss' }));
    expect(new StateStore(dir).load()).toEqual({});
    rmSync(dir, { recursive: true, force: true });
  });
});
