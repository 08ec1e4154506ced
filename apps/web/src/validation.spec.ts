import 'reflect-metadata';
import { HOSTNAME_PATTERN, INTERFACE_PATTERN as PROTOCOL_INTERFACE, NAME_PATTERN, USERNAME_PATTERN } from '../../../libs/protocol/src/commands';
import { HYPERVISOR_NETWORK_MODES as PROTOCOL_NETWORK_MODES } from '../../../libs/protocol/src/virtualization';
import { HOST_ROLES, HYPERVISOR_NETWORK_MODES } from './types';
import { HYPERVISOR_ROLES } from '../../../libs/protocol/src/commands';
import { INSTALL_PLACEHOLDERS as PROTOCOL_PLACEHOLDERS, SSH_PUBLIC_KEY_PATTERN as PROTOCOL_SSH_KEY } from '../../../libs/protocol/src/children';
import {
  GUEST_USERNAME_PATTERN, INSTALL_PLACEHOLDERS, INTERFACE_PATTERN, SSH_PUBLIC_KEY_PATTERN, VM_NAME_PATTERN, hasErrors, isValidHostname, isValidSshPublicKey,
  parseWholeNumber, tokenInputToBody, validateCreateVm, validateDistribution, validateLogin, validateSshKeyForm,
  validateToken, validateUser, type CreateVmInput,
} from './validation';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc5bXJ0c0Z1bGx5VmFsaWRLZXlEYXRhSGVyZQ== alice@laptop';

const vm = (over: Partial<CreateVmInput> = {}): CreateVmInput => ({
  distributionId: 'd1', name: 'web-01', hostname: 'web-01.example.org', vcpus: '2', memoryMb: '2048', diskGb: '20',
  username: 'alice', password: '', sshPublicKeys: '', sshKeyIds: [], ...over,
});

describe('the form rules match the protocol patterns the agent enforces', () => {
  const samples = ['web-01', 'a', '-bad', 'with space', 'x'.repeat(63), 'x'.repeat(64), 'dots.and_under', 'UPPER', '_lead', 'ok_1', 'é', 'a.b.c', 'a..b', 'a-', 'eth0', 'br0:1', 'vether0', 'x'.repeat(16)];
  it.each(samples)('VM name %p', (s) => expect(VM_NAME_PATTERN.test(s)).toBe(NAME_PATTERN.test(s)));
  it.each(samples)('guest user name %p', (s) => expect(GUEST_USERNAME_PATTERN.test(s)).toBe(USERNAME_PATTERN.test(s)));
  it.each(samples)('host name %p', (s) => expect(isValidHostname(s)).toBe(HOSTNAME_PATTERN.test(s)));
  it.each(samples)('interface %p', (s) => expect(INTERFACE_PATTERN.test(s)).toBe(PROTOCOL_INTERFACE.test(s)));
  it.each([
    ED25519, 'ssh-rsa AAAAB3NzaC1yc2E=', 'ecdsa-sha2-nistp256 AAAA', 'ssh-dss AAAA', 'ssh-ed25519 AAAA$', 'ssh-ed25519 AAAA ' + 'c'.repeat(201),
    'ssh-ed25519', 'sk-ssh-ed25519@openssh.com AAAA',
  ])('SSH public key %p', (s) => expect(SSH_PUBLIC_KEY_PATTERN.test(s)).toBe(PROTOCOL_SSH_KEY.test(s)));
  it('install placeholders', () => expect(INSTALL_PLACEHOLDERS).toEqual([...PROTOCOL_PLACEHOLDERS]));
  it('host roles and network modes', () => {
    expect([...HOST_ROLES]).toEqual(Object.values(HYPERVISOR_ROLES));
    expect([...HYPERVISOR_NETWORK_MODES]).toEqual([...PROTOCOL_NETWORK_MODES]);
  });
  it('host names longer than 253 characters are refused', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.');
    expect(long.length).toBeGreaterThan(253);
    expect(isValidHostname(long)).toBe(false);
  });
});

describe('validateCreateVm', () => {
  it('accepts a complete, fitting request', () => {
    expect(validateCreateVm(vm({ sshPublicKeys: ED25519 }), { availableMemoryMb: 8192, availableDiskGb: 100 })).toEqual({});
  });

  it('names each field that breaks a server rule', () => {
    const errors = validateCreateVm(
      vm({ distributionId: '', name: '-x', hostname: 'bad_host', vcpus: '257', memoryMb: '127', diskGb: '0', username: 'Alice', password: 'short' }),
    );
    expect(Object.keys(errors).sort()).toEqual(['diskGb', 'distributionId', 'hostname', 'memoryMb', 'name', 'password', 'username', 'vcpus']);
    expect(errors.vcpus).toEqual({ key: 'validation.range', values: { min: 1, max: 256 } });
    expect(errors.memoryMb?.values).toEqual({ min: 128, max: 4194304 });
    expect(errors.password).toEqual({ key: 'validation.minLength', values: { min: 8 } });
  });

  it('takes the range ends and refuses fractions and junk', () => {
    expect(validateCreateVm(vm({ vcpus: '1', memoryMb: '128', diskGb: '1' }))).toEqual({});
    expect(validateCreateVm(vm({ vcpus: '256', memoryMb: '4194304', diskGb: '65536' }))).toEqual({});
    expect(validateCreateVm(vm({ vcpus: '1.5' })).vcpus?.key).toBe('validation.wholeNumber');
    expect(validateCreateVm(vm({ memoryMb: '2e3' })).memoryMb?.key).toBe('validation.wholeNumber');
    expect(validateCreateVm(vm({ diskGb: '' })).diskGb?.key).toBe('validation.required');
  });

  it('refuses a VM above what the server counts as available, saying how much and the reserve', () => {
    const capacity = { availableMemoryMb: 3072, availableDiskGb: 40, reserveMemoryMb: 1024, reserveDiskGb: 10 };
    const errors = validateCreateVm(vm({ memoryMb: '3073', diskGb: '41' }), capacity);
    expect(errors.memoryMb).toEqual({ key: 'validation.memoryTooBig', values: { available: 3072, reserve: 1024 } });
    expect(errors.diskGb).toEqual({ key: 'validation.diskTooBig', values: { available: 40, reserve: 10 } });
    expect(validateCreateVm(vm({ memoryMb: '3072', diskGb: '40' }), capacity)).toEqual({});
  });

  it('refuses any size on a host already short of its reserve, and checks nothing it does not know', () => {
    const errors = validateCreateVm(vm({ memoryMb: '128', diskGb: '1' }), { availableMemoryMb: -500, availableDiskGb: 0, reserveMemoryMb: 1024, reserveDiskGb: 10 });
    expect(errors.memoryMb).toEqual({ key: 'validation.memoryTooBig', values: { available: 0, reserve: 1024 } });
    expect(errors.diskGb).toEqual({ key: 'validation.diskTooBig', values: { available: 0, reserve: 10 } });
    expect(validateCreateVm(vm({ memoryMb: '999999', diskGb: '9999' }), { availableMemoryMb: null })).toEqual({});
  });

  it('checks every pasted SSH key line and ignores blank lines', () => {
    expect(validateCreateVm(vm({ sshPublicKeys: `${ED25519}\n\n${ED25519}\n` })).sshPublicKeys).toBeUndefined();
    expect(validateCreateVm(vm({ sshPublicKeys: `${ED25519}\nnot a key` })).sshPublicKeys?.key).toBe('validation.sshKey');
  });
});

describe('other forms', () => {
  it('SSH public keys', () => {
    expect(isValidSshPublicKey(ED25519)).toBe(true);
    expect(isValidSshPublicKey('ssh-ed25519 AAAA; rm -rf /')).toBe(false);
    expect(isValidSshPublicKey('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(false);
    expect(validateSshKeyForm({ name: 'k', generate: true, publicKey: '' })).toEqual({});
    expect(validateSshKeyForm({ name: '', generate: false, publicKey: 'x' })).toEqual({
      name: { key: 'validation.required' },
      publicKey: { key: 'validation.sshKey' },
    });
  });

  it('enrolment tokens: uses, expiry in hours and note length', () => {
    expect(validateToken({ uses: '5', expiresInHours: '24', autoApprove: true, note: 'rack 4' })).toEqual({});
    const bad = validateToken({ uses: '0', expiresInHours: '-1', autoApprove: false, note: 'x'.repeat(501) });
    expect(Object.keys(bad).sort()).toEqual(['expiresInHours', 'note', 'uses']);
    expect(validateToken({ uses: '1', expiresInHours: '0.001', autoApprove: false, note: '' }).expiresInHours?.key).toBe('validation.range');
    expect(tokenInputToBody({ uses: '3', expiresInHours: '1.5', autoApprove: true, note: '  ' })).toEqual({
      uses: 3, expiresInSeconds: 5400, autoApprove: true,
    });
  });

  it('users: name pattern, password length, matching confirmation, known role', () => {
    expect(validateUser({ username: 'ops.alice', password: 'twelve chars', confirm: 'twelve chars', role: 'operator' })).toEqual({});
    expect(validateUser({ username: 'ops', password: 'eleven char', confirm: 'eleven char', role: 'viewer' }).password?.key).toBe('validation.minLength');
    const bad = validateUser({ username: 'bad name', password: 'short', confirm: 'other', role: 'root' });
    expect(bad).toEqual({
      username: { key: 'validation.operatorUsername' },
      password: { key: 'validation.minLength', values: { min: 12 } },
      confirm: { key: 'validation.passwordMismatch' },
      role: { key: 'validation.required' },
    });
  });

  it('login needs both fields', () => {
    expect(validateLogin({ username: ' ', password: '' })).toEqual({ username: { key: 'validation.required' }, password: { key: 'validation.required' } });
    expect(hasErrors(validateLogin({ username: 'a', password: 'b' }))).toBe(false);
  });

  it('distributions: checksum, URL, default sizes and install commands', () => {
    const ok = {
      childType: 'kvm', name: 'debian-12', version: '12', displayName: 'Debian 12', installIdentifier: 'debian12',
      imageUrl: 'https://cloud.debian.org/x.qcow2', sha256: 'a'.repeat(64), checksumUrl: '', defaultVcpus: '2', defaultMemoryMb: '2048',
      defaultDiskGb: '20', installCommands: 'curl -fsS {{serverUrl}}/agent | sh -s {{ enrollmentToken }}\n', enabled: true, appliance: false, firmware: 'bios', notes: '',
    };
    expect(validateDistribution(ok)).toEqual({});
    expect(Object.keys(validateDistribution({ ...ok, sha256: 'abc', imageUrl: 'ftp://x', defaultVcpus: '0', installIdentifier: '' })).sort()).toEqual([
      'defaultVcpus', 'imageUrl', 'installIdentifier', 'sha256',
    ]);
    expect(validateDistribution({ ...ok, imageUrl: '' }).imageUrl?.key).toBe('validation.imageRequired');
    expect(validateDistribution({ ...ok, childType: 'wsl', imageUrl: '' })).toEqual({});
    expect(validateDistribution({ ...ok, installCommands: ' \n' }).installCommands?.key).toBe('validation.commandsRequired');
    expect(validateDistribution({ ...ok, appliance: true }).installCommands?.key).toBe('validation.applianceNoCommands');
    expect(validateDistribution({ ...ok, appliance: true, installCommands: '', firmware: 'uefi' })).toEqual({});
    expect(validateDistribution({ ...ok, childType: 'vmm', firmware: 'uefi' }).firmware?.key).toBe('validation.uefiKvmOnly');
    expect(validateDistribution({ ...ok, firmware: 'coreboot' }).firmware?.key).toBe('validation.required');
    expect(validateDistribution({ ...ok, installCommands: 'echo {{token}} {{serverUrl}}' }).installCommands).toEqual({
      key: 'validation.placeholders', values: { names: 'token', known: INSTALL_PLACEHOLDERS.join(', ') },
    });
  });

  it('parseWholeNumber only takes digits', () => {
    expect(parseWholeNumber(' 42 ')).toBe(42);
    expect(parseWholeNumber('4.2')).toBeNaN();
    expect(parseWholeNumber('0x10')).toBeNaN();
  });
});
