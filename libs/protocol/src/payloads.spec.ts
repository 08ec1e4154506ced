import { generateKeyPairSync } from 'node:crypto';
import * as protocol from './index';
import { parsePayload } from './index';

/**
 * Every payload class of the protocol, each with payloads it must accept and payloads it must
 * refuse, the refusal naming the offending field. All through parsePayload, the one validation path.
 */

const uuid = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const at = '2026-12-02T10:00:00.000Z';
const publicKey = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();

const disk = { mount: '/', sizeBytes: 10, freeBytes: 5 };
const iface = { name: 'eth0', mac: '52:54:00:00:00:01', addresses: ['10.0.0.2', 'fe80::1'] };
const facts = {
  hostname: 'web-1', fqdn: 'web-1.example.org', platform: 'linux', osName: 'Debian GNU/Linux', osVersion: '12',
  kernel: '6.1.0', arch: 'x64', cpuModel: 'AMD EPYC', cpuCount: 2, memoryTotalBytes: 1024, memoryFreeBytes: 512,
  disks: [disk], interfaces: [iface], agentVersion: '0.1.0',
};
const network = { name: 'default', active: true, autostart: true, mode: 'nat', bridge: 'virbr0', subnet: '192.168.122.0/24' };
const hypervisor = {
  type: 'kvm', available: true, installed: true, enabled: true, running: true, initialized: true, cpuSupported: true,
  kernelSupported: true, needsInstall: false, needsEnable: false, needsReboot: false, version: '9.0.0', networks: [network], details: ['ok'],
};
const report = { platform: 'linux', roles: ['kvm_host'], hypervisors: [hypervisor], checkedAt: at };
const distribution = {
  name: 'debian', version: '12', installIdentifier: 'debian12', imageUrl: 'https://cloud.debian.org/debian-12.qcow2',
  sha256: 'a'.repeat(64), appliance: false, installCommands: ['apt-get update'],
};
const agentInstall = { serverUrl: 'https://fleet.example.org', enrollmentToken: `sfe_${'A'.repeat(43)}`, agentSha256: 'b'.repeat(64) };
const childInfo = { name: 'web1', childType: 'kvm', state: 'running', vcpus: 2, memoryMb: 2048, diskGb: 20, ip: '192.168.122.10', details: 'x' };
const childCreate = {
  childType: 'kvm', name: 'web1', hostname: 'web1.example.org', vcpus: 2, memoryMb: 2048, diskGb: 20, username: 'ops',
  passwordHash: `$6$saltsalt$${'a'.repeat(86)}`, sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ops@laptop'],
  network: { mode: 'nat' }, distribution, agentInstall, keepOnFailure: false,
};

type Ctor = new () => object;
interface Case {
  cls: Ctor;
  valid: unknown[];
  /** Each refused payload with the field path its error must name. */
  invalid: { payload: unknown; field: string }[];
}

const cases: Case[] = [
  {
    cls: protocol.HandshakeAuth,
    valid: [{ protocolVersion: 1, publicKey, timestamp: Date.now(), nonce: 'n'.repeat(24), signature: 'c2ln' }, { protocolVersion: 1, publicKey, hostId: uuid, timestamp: 1, nonce: 'abcdefghijklmnop', signature: 's' }],
    invalid: [
      { payload: { protocolVersion: 1, publicKey: 'not a key', timestamp: 1, nonce: 'n'.repeat(24), signature: 's' }, field: 'publicKey' },
      { payload: { protocolVersion: 0, publicKey, timestamp: 1, nonce: 'n'.repeat(24), signature: 's' }, field: 'protocolVersion' },
      { payload: { protocolVersion: 1, publicKey, timestamp: 1, nonce: 'short', signature: 's' }, field: 'nonce' },
      { payload: { protocolVersion: 1, publicKey, hostId: 'host-1', timestamp: 1, nonce: 'n'.repeat(24), signature: 's' }, field: 'hostId' },
    ],
  },
  { cls: protocol.DiskFact, valid: [disk], invalid: [{ payload: { ...disk, freeBytes: -1 }, field: 'freeBytes' }, { payload: { sizeBytes: 1, freeBytes: 1 }, field: 'mount' }] },
  {
    cls: protocol.InterfaceFact,
    valid: [iface, { name: 'lo', addresses: [] }],
    invalid: [{ payload: { ...iface, addresses: '10.0.0.2' }, field: 'addresses' }, { payload: { ...iface, name: 'x'.repeat(65) }, field: 'name' }],
  },
  {
    cls: protocol.HostFacts,
    valid: [facts, { ...facts, platform: 'openbsd', disks: [], interfaces: [] }],
    invalid: [
      { payload: { ...facts, platform: 'plan9' }, field: 'platform' },
      { payload: { ...facts, hostname: '' }, field: 'hostname' },
      { payload: { ...facts, disks: [{ ...disk, sizeBytes: 1.5 }] }, field: 'disks.0.sizeBytes' },
      { payload: { ...facts, interfaces: [{ ...iface, addresses: [42] }] }, field: 'interfaces.0.addresses' },
    ],
  },
  {
    cls: protocol.HelloPayload,
    valid: [{ facts }, { facts, enrollmentToken: `sfe_${'A'.repeat(43)}` }],
    invalid: [{ payload: { facts, enrollmentToken: 'short' }, field: 'enrollmentToken' }, { payload: { facts: { ...facts, cpuCount: 0 } }, field: 'facts.cpuCount' }],
  },
  {
    cls: protocol.HostStatusPayload,
    valid: [{ hostId: uuid, status: 'pending', reason: 'waiting' }, { hostId: uuid, status: 'approved' }],
    invalid: [{ payload: { hostId: uuid, status: 'deleted' }, field: 'status' }, { payload: { hostId: 'h', status: 'approved' }, field: 'hostId' }],
  },
  { cls: protocol.FactsPayload, valid: [{ facts }], invalid: [{ payload: { facts: { ...facts, memoryFreeBytes: '1' } }, field: 'facts.memoryFreeBytes' }] },
  {
    cls: protocol.JobCommandPayload,
    valid: [{ jobId: uuid, type: 'inventory.refresh', params: {}, deadline: at }],
    invalid: [
      { payload: { jobId: uuid, type: 'shell.exec', params: {}, deadline: at }, field: 'type' },
      { payload: { jobId: uuid, type: 'inventory.refresh', params: {}, deadline: 'tomorrow' }, field: 'deadline' },
    ],
  },
  {
    cls: protocol.CommandAck,
    valid: [{ state: 'accepted' }, { state: 'refused', reason: 'busy' }],
    invalid: [{ payload: { state: 'maybe' }, field: 'state' }, { payload: { state: 'refused', reason: 'r'.repeat(1001) }, field: 'reason' }],
  },
  { cls: protocol.JobCancelPayload, valid: [{ jobId: uuid }], invalid: [{ payload: { jobId: 'j-1' }, field: 'jobId' }] },
  {
    cls: protocol.JobProgressPayload,
    valid: [{ jobId: uuid, seq: 0, step: 'collect', message: 'collecting', at }, { jobId: uuid, seq: 3, step: 's', message: '', percent: 100, at }],
    invalid: [{ payload: { jobId: uuid, seq: -1, step: 's', message: 'm', at }, field: 'seq' }, { payload: { jobId: uuid, seq: 0, step: 's', message: 'm', percent: 101, at }, field: 'percent' }],
  },
  {
    cls: protocol.JobResultPayload,
    valid: [{ jobId: uuid, status: 'succeeded', result: { facts }, finishedAt: at }, { jobId: uuid, status: 'failed', error: 'boom', failedStep: 'collect', finishedAt: at }],
    invalid: [{ payload: { jobId: uuid, status: 'done', finishedAt: at }, field: 'status' }, { payload: { jobId: uuid, status: 'failed', result: 'x', finishedAt: at }, field: 'result' }],
  },
  {
    cls: protocol.ServerAck,
    valid: [{ ok: true }, { ok: false, error: 'host not approved' }],
    invalid: [{ payload: { ok: 'yes' }, field: 'ok' }, { payload: { ok: false, error: 42 }, field: 'error' }],
  },
  { cls: protocol.InventoryRefreshParams, valid: [{}], invalid: [{ payload: { full: true }, field: 'full' }] },
  { cls: protocol.InventoryRefreshResult, valid: [{ facts }], invalid: [{ payload: { facts: { ...facts, arch: 64 } }, field: 'facts.arch' }] },
  { cls: protocol.VirtualizationCheckParams, valid: [{}], invalid: [{ payload: { type: 'kvm' }, field: 'type' }] },
  { cls: protocol.VirtualizationInitializeParams, valid: [{ type: 'kvm' }, { type: 'wsl' }], invalid: [{ payload: { type: 'xen' }, field: 'type' }] },
  {
    cls: protocol.VirtualizationConfigureNetworkParams,
    valid: [{ type: 'kvm', mode: 'nat', subnet: '10.1.0.0/24' }, { type: 'vmm', mode: 'routed', interface: 'em0', remove: true }],
    invalid: [
      { payload: { type: 'kvm', mode: 'bridge', interface: 'eth0; reboot' }, field: 'interface' },
      { payload: { type: 'kvm', mode: 'nat', subnet: '10.1.0.0' }, field: 'subnet' },
      { payload: { type: 'kvm', mode: 'overlay' }, field: 'mode' },
    ],
  },
  {
    cls: protocol.HypervisorNetwork,
    valid: [network, { name: 'local', active: false, autostart: false, mode: 'local' }],
    invalid: [{ payload: { ...network, name: '-bad name' }, field: 'name' }, { payload: { ...network, active: 'yes' }, field: 'active' }],
  },
  {
    cls: protocol.HypervisorStatus,
    // version is a string, or null when unknown; an older agent that leaves it out is taken as unknown.
    valid: [hypervisor, { ...hypervisor, version: null, networks: [], details: [] }, { ...hypervisor, version: undefined }],
    invalid: [
      { payload: { ...hypervisor, version: 9 }, field: 'version' },
      { payload: { ...hypervisor, version: 'v'.repeat(201) }, field: 'version' },
      { payload: { ...hypervisor, needsReboot: 1 }, field: 'needsReboot' },
      { payload: { ...hypervisor, networks: [{ ...network, mode: 'vxlan' }] }, field: 'networks.0.mode' },
    ],
  },
  {
    cls: protocol.VirtualizationReport,
    valid: [report, { platform: 'windows', roles: [], hypervisors: [], checkedAt: at }],
    invalid: [{ payload: { ...report, roles: ['xen_host'] }, field: 'roles' }, { payload: { ...report, checkedAt: 'now' }, field: 'checkedAt' }],
  },
  { cls: protocol.VirtualizationResult, valid: [{ report }], invalid: [{ payload: { report: { ...report, platform: 'amiga' } }, field: 'report.platform' }] },
  {
    cls: protocol.ChildNetwork,
    valid: [{}, { mode: 'bridge', interface: 'br0' }],
    invalid: [{ payload: { mode: 'mesh' }, field: 'mode' }, { payload: { interface: 'br0 && rm' }, field: 'interface' }],
  },
  {
    cls: protocol.ChildDistribution,
    valid: [distribution, { name: 'haos', version: '13', installIdentifier: 'haos', checksumUrl: 'https://example.org/SHA256SUMS', appliance: true, installCommands: [] }],
    invalid: [
      { payload: { ...distribution, imageUrl: 'file:///etc/shadow' }, field: 'imageUrl' },
      { payload: { ...distribution, sha256: 'ABC' }, field: 'sha256' },
      { payload: { ...distribution, installCommands: [''] }, field: 'installCommands' },
    ],
  },
  {
    cls: protocol.ChildAgentInstall,
    valid: [agentInstall],
    invalid: [{ payload: { ...agentInstall, enrollmentToken: 'sfe_short' }, field: 'enrollmentToken' }, { payload: { ...agentInstall, serverUrl: 'ftp://x' }, field: 'serverUrl' }],
  },
  {
    cls: protocol.ChildCreateParams,
    valid: [childCreate, { ...childCreate, passwordHash: undefined, network: undefined, agentInstall: null, sshPublicKeys: [] }],
    invalid: [
      { payload: { ...childCreate, memoryMb: 64 }, field: 'memoryMb' },
      { payload: { ...childCreate, username: 'Root User' }, field: 'username' },
      { payload: { ...childCreate, passwordHash: 'plain-password' }, field: 'passwordHash' },
      { payload: { ...childCreate, sshPublicKeys: ['not a key'] }, field: 'sshPublicKeys' },
      { payload: { ...childCreate, distribution: { ...distribution, appliance: 'no' } }, field: 'distribution.appliance' },
      { payload: { ...childCreate, agentInstall: { ...agentInstall, agentSha256: 'x' } }, field: 'agentInstall.agentSha256' },
    ],
  },
  { cls: protocol.ChildActionParams, valid: [{ childType: 'vmm', name: 'db1' }], invalid: [{ payload: { childType: 'vmm', name: '../etc' }, field: 'name' }] },
  {
    cls: protocol.ChildStopParams,
    valid: [{ childType: 'wsl', name: 'Ubuntu-24.04', force: true }],
    invalid: [{ payload: { childType: 'wsl', name: 'u', force: 'hard' }, field: 'force' }, { payload: { childType: 'lxc', name: 'u', force: false }, field: 'childType' }],
  },
  { cls: protocol.ChildDeleteParams, valid: [{ childType: 'kvm', name: 'web1', deleteDisk: false }], invalid: [{ payload: { childType: 'kvm', name: 'web1' }, field: 'deleteDisk' }] },
  { cls: protocol.ChildListParams, valid: [{}], invalid: [{ payload: { childType: 'kvm' }, field: 'childType' }] },
  {
    cls: protocol.ChildInfo,
    valid: [childInfo, { name: 'db1', childType: 'vmm', state: 'stopped' }],
    invalid: [{ payload: { ...childInfo, state: 'sleeping' }, field: 'state' }, { payload: { ...childInfo, ip: '10.0.0.1; id' }, field: 'ip' }],
  },
  {
    cls: protocol.ChildListResult,
    valid: [{ types: ['kvm'], children: [childInfo] }, { types: [], children: [] }],
    invalid: [{ payload: { types: ['hyperv'], children: [] }, field: 'types' }, { payload: { types: ['kvm'], children: [{ ...childInfo, vcpus: -2 }] }, field: 'children.0.vcpus' }],
  },
  {
    cls: protocol.ChildCreateResult,
    valid: [{ child: childInfo, agentInstalled: true, children: [childInfo] }, { child: childInfo, agentInstalled: false }],
    invalid: [{ payload: { child: childInfo, agentInstalled: 'yes' }, field: 'agentInstalled' }, { payload: { child: { ...childInfo, name: '' }, agentInstalled: true }, field: 'child.name' }],
  },
  {
    cls: protocol.ChildCreateFailure,
    valid: [{ cleanedUp: true }, { cleanedUp: false, kept: 'domain web1' }],
    invalid: [{ payload: { cleanedUp: false, kept: 'k'.repeat(2001) }, field: 'kept' }, { payload: {}, field: 'cleanedUp' }],
  },
  {
    cls: protocol.ChildActionResult,
    valid: [{}, { child: childInfo, children: [childInfo] }],
    invalid: [{ payload: { child: { ...childInfo, childType: 'xen' } }, field: 'child.childType' }, { payload: { children: childInfo }, field: 'children' }],
  },
];

describe('protocol payload classes', () => {
  it('the table covers every class the protocol exports', () => {
    const exported = Object.entries(protocol)
      .filter(([, v]) => typeof v === 'function' && Function.prototype.toString.call(v).startsWith('class'))
      .map(([name]) => name)
      .sort();
    expect(cases.map((c) => c.cls.name).sort()).toEqual(exported);
  });

  describe.each(cases.map((c) => [c.cls.name, c] as const))('%s', (name, c) => {
    it.each(c.valid.map((p, i) => [i, p] as const))('accepts valid payload %i', (_i, payload) => {
      const r = parsePayload(c.cls, payload);
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(r.value).toBeInstanceOf(c.cls);
    });

    it.each(c.invalid.map((x) => [x.field, x.payload] as const))('refuses a bad %s and names it', (field, payload) => {
      const r = parsePayload(c.cls, payload);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(new RegExp(`^${name}: (.*; )?${field.replace(/\./g, '\\.')}[:( ]|^${name}: takes no fields \\(got ${field}\\)`));
    });

    it('refuses an unknown field, a non-object and an oversized payload', () => {
      const base = c.valid[0] as Record<string, unknown>;
      expect(parsePayload(c.cls, { ...base, injected: 1 })).toMatchObject({ ok: false, error: expect.stringContaining('injected') });
      expect(parsePayload(c.cls, [base])).toEqual({ ok: false, error: `${name}: payload must be an object` });
      expect(parsePayload(c.cls, { ...base, padding: 'x'.repeat(protocol.MAX_MESSAGE_BYTES) })).toEqual({ ok: false, error: expect.stringContaining('exceeds') });
    });
  });
});
