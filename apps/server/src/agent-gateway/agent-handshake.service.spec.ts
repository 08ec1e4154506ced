import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { fingerprintOf, HANDSHAKE_MAX_SKEW_MS, handshakeMessage, PROTOCOL_VERSION } from '@sysfleet/protocol';
import type Redis from 'ioredis';
import type { AuditInput, AuditService } from '../audit/audit.service';
import type { EnvironmentVariables } from '../config/config';
import type { HostEntity } from '../hosts/hosts.entity';
import type { HostsService } from '../hosts/hosts.service';
import { AgentHandshakeService } from './agent-handshake.service';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), privateKey };
}

function signedAuth(key: ReturnType<typeof keyPair>, opts: { hostId?: string; timestamp?: number; nonce?: string } = {}) {
  const timestamp = opts.timestamp ?? Date.now();
  const nonce = opts.nonce ?? randomBytes(16).toString('base64url');
  const fp = fingerprintOf(key.pem);
  const signature = sign(null, handshakeMessage(opts.hostId, fp, timestamp, nonce), key.privateKey).toString('base64');
  return { protocolVersion: PROTOCOL_VERSION, publicKey: key.pem, ...(opts.hostId && { hostId: opts.hostId }), timestamp, nonce, signature };
}

const HOST_ID = '33333333-3333-4333-8333-333333333333';

describe('AgentHandshakeService', () => {
  let hosts: HostEntity[];
  let audits: AuditInput[];
  let service: AgentHandshakeService;
  const key = keyPair();

  beforeEach(() => {
    hosts = [];
    audits = [];
    const used = new Set<string>();
    const redis = { set: async (k: string) => (used.has(k) ? null : (used.add(k), 'OK')) } as unknown as Redis;
    const hostsService = {
      findById: async (id: string) => hosts.find((h) => h.id === id) ?? null,
      findByFingerprint: async (fp: string) => hosts.find((h) => h.fingerprint === fp) ?? null,
    } as unknown as HostsService;
    const audit = { record: async (a: AuditInput) => void audits.push(a) } as unknown as AuditService;
    service = new AgentHandshakeService(hostsService, redis, { REDIS_PREFIX: 't' } as EnvironmentVariables, audit);
  });

  const addHost = (status: HostEntity['status'], pem = key.pem) =>
    hosts.push({ id: HOST_ID, fingerprint: fingerprintOf(pem), status, statusReason: null } as HostEntity);

  it('accepts a new key and names its fingerprint', async () => {
    const r = await service.verify(signedAuth(key), '10.0.0.1');
    expect(r).toEqual({ ok: true, identity: { publicKey: key.pem, fingerprint: fingerprintOf(key.pem) } });
  });

  it('accepts an enrolled host that signs its id with its own key', async () => {
    addHost('approved');
    const r = await service.verify(signedAuth(key, { hostId: HOST_ID }), null);
    expect(r).toMatchObject({ ok: true, identity: { hostId: HOST_ID } });
  });

  it.each([
    ['a signature by another key', () => ({ ...signedAuth(key), signature: signedAuth(keyPair()).signature }), 'BAD_SIGNATURE'],
    ['a changed timestamp', () => ({ ...signedAuth(key), timestamp: Date.now() + 1 }), 'BAD_SIGNATURE'],
    ['a stale timestamp', () => signedAuth(key, { timestamp: Date.now() - HANDSHAKE_MAX_SKEW_MS - 5000 }), 'STALE_TIMESTAMP'],
    ['a timestamp from the future', () => signedAuth(key, { timestamp: Date.now() + HANDSHAKE_MAX_SKEW_MS + 5000 }), 'STALE_TIMESTAMP'],
    ['another protocol version', () => ({ ...signedAuth(key), protocolVersion: PROTOCOL_VERSION + 1 }), 'PROTOCOL_VERSION'],
    ['a missing signature', () => ({ ...signedAuth(key), signature: undefined }), 'INVALID_HANDSHAKE'],
    ['unknown fields', () => ({ ...signedAuth(key), admin: true }), 'INVALID_HANDSHAKE'],
    ['no auth at all', () => undefined, 'INVALID_HANDSHAKE'],
    ['an RSA key', () => ({ ...signedAuth(key), publicKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString() }), 'INVALID_HANDSHAKE'],
    ['an unknown host id', () => signedAuth(key, { hostId: HOST_ID }), 'HOST_UNKNOWN'],
  ])('refuses %s', async (_what, auth, code) => {
    const r = await service.verify(auth(), '10.0.0.1');
    expect(r).toMatchObject({ ok: false, code, message: expect.any(String) });
    expect(audits).toEqual([expect.objectContaining({ action: 'agent.handshake', outcome: 'failure', details: expect.objectContaining({ code }) })]);
  });

  it('refuses a replayed handshake (same nonce)', async () => {
    const auth = signedAuth(key);
    expect((await service.verify(auth, null)).ok).toBe(true);
    expect(await service.verify(auth, null)).toMatchObject({ ok: false, code: 'NONCE_REUSED' });
  });

  it('refuses a copied host id presented with another key', async () => {
    addHost('approved', keyPair().pem);
    expect(await service.verify(signedAuth(key, { hostId: HOST_ID }), null)).toMatchObject({ ok: false, code: 'HOST_KEY_MISMATCH' });
  });

  it.each([['rejected', 'HOST_REJECTED'], ['revoked', 'HOST_REVOKED']] as const)('refuses a %s key, with or without its host id', async (status, code) => {
    addHost(status);
    expect(await service.verify(signedAuth(key, { hostId: HOST_ID }), null)).toMatchObject({ ok: false, code });
    expect(await service.verify(signedAuth(key), null)).toMatchObject({ ok: false, code });
  });
});
