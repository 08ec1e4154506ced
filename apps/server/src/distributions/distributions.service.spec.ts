import { AppError } from '../common/errors';
import type { DistributionEntity } from './distributions.entity';
import type { DistributionsRepository, NewDistribution } from './distributions.repository';
import { DistributionsService, validateDistribution } from './distributions.service';

const valid = {
  childType: 'kvm', name: 'ubuntu', version: '24.04', displayName: 'Ubuntu', installIdentifier: 'ubuntu24.04',
  imageUrl: 'https://cloud-images.ubuntu.com/x.img', checksumUrl: 'https://cloud-images.ubuntu.com/SHA256SUMS',
  defaultVcpus: 2, defaultMemoryMb: 2048, defaultDiskGb: 20, installCommands: ["curl -fsSL '{{serverUrl}}/agent/sysfleet-agent.cjs'"], appliance: false,
};

const problem = (over: Record<string, unknown>) => {
  try {
    validateDistribution({ ...valid, ...over });
    return null;
  } catch (e) {
    return (e as AppError).message;
  }
};

describe('distribution validation', () => {
  it('accepts a complete entry', () => {
    expect(problem({})).toBeNull();
  });

  it.each([
    ['an ftp image URL', { imageUrl: 'ftp://mirror/x.img' }, /imageUrl must be an http/],
    ['a short sha256', { sha256: 'abc' }, /sha256 must be 64 lowercase hex/],
    ['a NUL in a command', { installCommands: ['echo \0'] }, /NUL/],
    ['an empty command', { installCommands: [''] }, /installCommands/],
    ['a blank command', { installCommands: ['   '] }, /command 1 is blank/],
    ['51 commands', { installCommands: Array.from({ length: 51 }, () => 'true') }, /installCommands/],
    ['an unknown placeholder', { installCommands: ['echo {{password}}'] }, /unknown placeholder\(s\) \{\{password\}\}/],
    ['commands on an appliance', { appliance: true }, /empty for an appliance/],
    ['no commands on a normal entry', { installCommands: [] }, /install the agent/],
    ['a kvm entry without an image', { imageUrl: null }, /imageUrl is required/],
    ['an unknown field', { secret: 1 }, /secret/],
    ['an unknown firmware', { firmware: 'efi' }, /firmware must be one of the following values: bios, uefi/],
    ['uefi on a vmd entry', { childType: 'vmm', firmware: 'uefi' }, /uefi is only available for kvm/],
  ])('refuses %s', (_what, over, message) => {
    expect(problem(over)).toMatch(message);
  });

  it('takes firmware bios or uefi on kvm; bios is the default', () => {
    expect(problem({ firmware: 'uefi' })).toBeNull();
    expect(problem({ childType: 'vmm', firmware: 'bios' })).toBeNull();
    expect(validateDistribution(valid).firmware).toBeUndefined();
  });

  it('lets a WSL entry go without an image', () => {
    expect(problem({ childType: 'wsl', imageUrl: null, checksumUrl: null, installIdentifier: 'Ubuntu-24.04' })).toBeNull();
  });
});

describe('DistributionsService.update', () => {
  it('checks the merged entry and keeps fields the request leaves out', async () => {
    const stored = { ...valid, id: 'd1', sha256: null, enabled: true, notes: null, createdAt: new Date(), updatedAt: new Date() } as unknown as DistributionEntity;
    const saved: NewDistribution[] = [];
    const repo = {
      findById: jest.fn(async () => stored),
      update: jest.fn(async (_id: string, d: NewDistribution) => (saved.push(d), { ...stored, ...d })),
    };
    const service = new DistributionsService(repo as unknown as DistributionsRepository);
    await service.update('d1', { displayName: 'Ubuntu Noble', notes: undefined });
    expect(saved[0]).toMatchObject({ displayName: 'Ubuntu Noble', imageUrl: valid.imageUrl, installCommands: valid.installCommands });
    await expect(service.update('d1', { appliance: true })).rejects.toThrow(/empty for an appliance/);
    expect(saved).toHaveLength(1);
  });

  it('stores bios when a create leaves firmware out, and an update can switch a kvm entry to uefi', async () => {
    const stored = { ...valid, id: 'd1', sha256: null, firmware: 'bios', enabled: true, notes: null, createdAt: new Date(), updatedAt: new Date() } as unknown as DistributionEntity;
    const saved: NewDistribution[] = [];
    const repo = {
      findById: jest.fn(async () => stored),
      insert: jest.fn(async (d: NewDistribution) => (saved.push(d), { ...stored, ...d })),
      update: jest.fn(async (_id: string, d: NewDistribution) => (saved.push(d), { ...stored, ...d })),
    };
    const service = new DistributionsService(repo as unknown as DistributionsRepository);
    await service.create(validateDistribution(valid));
    await service.update('d1', { firmware: 'uefi' });
    expect(saved.map((d) => d.firmware)).toEqual(['bios', 'uefi']);
    await expect(service.update('d1', { childType: 'vmm', firmware: 'uefi' })).rejects.toThrow(/uefi is only available for kvm/);
  });
});
