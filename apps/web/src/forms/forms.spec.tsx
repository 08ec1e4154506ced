import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import i18n from '../i18n';
import { ApiError } from '../api';
import { LoginForm } from './LoginForm';
import { TokenForm } from './TokenForm';
import { UserForm } from './UserForm';
import { PasswordForm } from './PasswordForm';
import { CreateVmForm } from './CreateVmForm';
import { HostDetailPage } from '../pages/HostDetailPage';
import { mockFetch, renderPage } from '../testing/fakes';
import type { ChildCapacity, Distribution, Host, Virtualization } from '../types';
import type { VmCapacity } from '../validation';

beforeAll(async () => {
  await i18n.changeLanguage('en');
});

const type = (label: string | RegExp, value: string) => fireEvent.change(screen.getByLabelText(label), { target: { value } });
const submit = async (name: string | RegExp) => {
  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name }));
  });
};

describe('LoginForm', () => {
  it('asks for both fields before sending anything', async () => {
    const onSubmit = jest.fn();
    render(<LoginForm onSubmit={onSubmit} />);
    await submit('Sign in');
    expect(screen.getAllByText('Required.')).toHaveLength(2);
    expect(screen.getByLabelText('User name').getAttribute('aria-invalid')).toBe('true');
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('sends the trimmed user name and shows the server refusal in words', async () => {
    const onSubmit = jest.fn().mockRejectedValue(new ApiError(401, 'AUTH_INVALID_CREDENTIALS', 'Wrong user name or password'));
    render(<LoginForm onSubmit={onSubmit} />);
    type('User name', '  admin ');
    type('Password', 'secret pass');
    await submit('Sign in');
    expect(onSubmit).toHaveBeenCalledWith('admin', 'secret pass');
    expect(screen.getByRole('alert').textContent).toBe('Wrong user name or password');
  });
});

describe('TokenForm', () => {
  it('refuses zero uses, a negative expiry and a long note', async () => {
    const onSubmit = jest.fn();
    render(<TokenForm onSubmit={onSubmit} />);
    type('Uses', '0');
    type('Expires in (hours)', '-2');
    type('Note', 'n'.repeat(501));
    await submit('Create token');
    expect(screen.getByText('Must be between 1 and 10000.')).toBeTruthy();
    expect(screen.getByText('Enter a number greater than zero.')).toBeTruthy();
    expect(screen.getByText('At most 500 characters.')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('sends uses, expiry in seconds and auto-approve', async () => {
    const onSubmit = jest.fn().mockResolvedValue(undefined);
    render(<TokenForm onSubmit={onSubmit} />);
    type('Uses', '10');
    type('Expires in (hours)', '2');
    type('Note', 'rack 7');
    fireEvent.click(screen.getByLabelText('Approve hosts automatically'));
    await submit('Create token');
    expect(onSubmit).toHaveBeenCalledWith({ uses: 10, expiresInSeconds: 7200, autoApprove: true, note: 'rack 7' });
  });
});

describe('UserForm', () => {
  it('checks the user name, password length and confirmation', async () => {
    const onSubmit = jest.fn();
    render(<UserForm onSubmit={onSubmit} />);
    type('User name', 'bad name');
    type('Password', 'short');
    type('Repeat password', 'other');
    await submit('Add user');
    expect(screen.getByText(/starting with a letter or digit/)).toBeTruthy();
    expect(screen.getByText('At least 12 characters.')).toBeTruthy();
    expect(screen.getByText('The passwords do not match.')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('creates a user with the chosen role and clears the form', async () => {
    const onSubmit = jest.fn().mockResolvedValue(undefined);
    render(<UserForm onSubmit={onSubmit} />);
    type('User name', 'carol');
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'operator' } });
    type('Password', 'correct horse');
    type('Repeat password', 'correct horse');
    await submit('Add user');
    expect(onSubmit).toHaveBeenCalledWith({ username: 'carol', password: 'correct horse', role: 'operator' });
    expect((screen.getByLabelText('User name') as HTMLInputElement).value).toBe('');
  });
});

describe('PasswordForm', () => {
  it('asks for the current password and a new one of the server\'s length, typed twice, before sending', async () => {
    const onSubmit = jest.fn();
    render(<PasswordForm onSubmit={onSubmit} />);
    type('New password', 'short');
    type('New password again', 'other');
    await submit('Change password');
    expect(screen.getByText('Required.')).toBeTruthy();
    expect(screen.getByText('At least 12 characters.')).toBeTruthy();
    expect(screen.getByText('The passwords do not match.')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('shows a wrong current password in words, then says the change is made', async () => {
    const onSubmit = jest.fn()
      .mockRejectedValueOnce(new ApiError(400, 'AUTH_WRONG_PASSWORD', 'The current password is wrong'))
      .mockResolvedValueOnce(undefined);
    render(<PasswordForm onSubmit={onSubmit} />);
    type('Current password', 'not-it');
    type('New password', 'a-long-new-password');
    type('New password again', 'a-long-new-password');
    await submit('Change password');
    expect(onSubmit).toHaveBeenCalledWith('not-it', 'a-long-new-password');
    expect(screen.getByRole('alert').textContent).toBe('The current password is wrong');
    type('Current password', 'the-right-one');
    await submit('Change password');
    expect(onSubmit).toHaveBeenLastCalledWith('the-right-one', 'a-long-new-password');
    expect(screen.getByRole('status').textContent).toBe('Your password is changed. Your other sessions have ended.');
  });
});

describe('CreateVmForm', () => {
  const debian: Distribution = {
    id: 'deb', childType: 'kvm', name: 'debian-12', version: '12', displayName: 'Debian 12', installIdentifier: 'debian12', defaultVcpus: 2,
    defaultMemoryMb: 4096, defaultDiskGb: 30, installCommands: [], enabled: true,
  };
  const alpine: Distribution = { ...debian, id: 'alp', name: 'alpine', displayName: 'Alpine 3.20', defaultMemoryMb: 512, defaultDiskGb: 4 };
  const openbsd: Distribution = { ...debian, id: 'obsd', childType: 'vmm', displayName: 'OpenBSD 7.6' };
  const disabled: Distribution = { ...debian, id: 'old', displayName: 'Debian 10', enabled: false };
  const setup = (capacity: VmCapacity = { availableMemoryMb: 3072, availableDiskGb: 100, reserveMemoryMb: 1024, reserveDiskGb: 10 }) => {
    const onSubmit = jest.fn().mockResolvedValue(undefined);
    render(
      <CreateVmForm
        childType="kvm"
        distributions={[debian, alpine, openbsd, disabled]}
        sshKeys={[{ id: 'k1', name: 'ops key' }]}
        capacity={capacity}
        onSubmit={onSubmit}
        onCancel={() => undefined}
      />,
    );
    return onSubmit;
  };

  it('offers only the enabled distributions of this hypervisor and shows what the host has available', () => {
    setup();
    const options = screen.getAllByRole('option').map((o) => o.textContent);
    expect(options).toEqual(['Debian 12', 'Alpine 3.20']);
    expect(
      screen.getByText(
        'Available for this VM: 3072 MiB of memory and 100 GiB of disk. The host keeps 1024 MiB and 10 GiB in reserve; creates under way are already counted.',
      ),
    ).toBeTruthy();
    expect(screen.getByText('At most 3072 MiB')).toBeTruthy();
    expect(screen.getByText('At most 100 GiB')).toBeTruthy();
    expect((screen.getByLabelText('Memory (MiB)') as HTMLInputElement).value).toBe('4096');
  });

  it('refuses a VM larger than the available memory and bad names, without sending', async () => {
    const onSubmit = setup();
    type('VM name', 'web 01');
    type('Host name', '-web');
    type('User name', 'Root');
    type('vCPUs', '257');
    await submit('Create VM');
    expect(
      screen.getByText('At most 3072 MiB: that is what this host has available after keeping 1024 MiB in reserve and counting the creates under way.'),
    ).toBeTruthy();
    expect(screen.getByText(/Letters, digits, ".", "_" and "-", starting/)).toBeTruthy();
    expect(screen.getByText(/A host name: labels/)).toBeTruthy();
    expect(screen.getByText(/Lower-case letters/)).toBeTruthy();
    expect(screen.getByText('Must be between 1 and 256.')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('fills defaults from the chosen distribution and sends a valid request', async () => {
    const onSubmit = setup();
    fireEvent.change(screen.getByLabelText('Distribution'), { target: { value: 'alp' } });
    expect((screen.getByLabelText('Memory (MiB)') as HTMLInputElement).value).toBe('512');
    type('VM name', 'build_01');
    // The host name follows the VM name until it is edited.
    expect((screen.getByLabelText('Host name') as HTMLInputElement).value).toBe('build-01');
    type('User name', 'alice');
    type('Password (optional)', 'long enough');
    fireEvent.click(screen.getByLabelText('ops key'));
    type('SSH public keys', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop\n');
    await submit('Create VM');
    expect(onSubmit).toHaveBeenCalledWith({
      childType: 'kvm', distributionId: 'alp', name: 'build_01', hostname: 'build-01', vcpus: 2, memoryMb: 512,
      diskGb: 4, username: 'alice', password: 'long enough', sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop'],
      sshKeyIds: ['k1'],
    });
  });

  it('keeps a failed VM for debugging only when asked: off by default, sent as keepOnFailure when ticked', async () => {
    const onSubmit = setup();
    const keep = screen.getByLabelText('Keep the VM for debugging if the create fails') as HTMLInputElement;
    expect(keep.checked).toBe(false);
    // The hint says what it does, tied to the box for screen readers.
    expect(document.getElementById(keep.getAttribute('aria-describedby')!)?.textContent).toMatch(/failed create removes the disk, domain and seed/);
    const fill = () => {
      type('VM name', 'dbg1');
      type('User name', 'alice');
      type('Memory (MiB)', '1024');
    };
    fill();
    await submit('Create VM');
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0][0]).not.toHaveProperty('keepOnFailure');

    // A sent form stays busy until the dialog closes: ask again in a fresh one, box ticked.
    cleanup();
    const again = setup();
    fill();
    const ticked = screen.getByLabelText('Keep the VM for debugging if the create fails') as HTMLInputElement;
    fireEvent.click(ticked);
    expect(ticked.checked).toBe(true);
    await submit('Create VM');
    expect(again).toHaveBeenCalledWith(expect.objectContaining({ name: 'dbg1', memoryMb: 1024, keepOnFailure: true }));
  });

  it('shows the server error when the create is refused', async () => {
    const onSubmit = jest.fn().mockRejectedValue(new ApiError(409, 'CHILD_NAME_TAKEN', 'A VM named web already exists on this host'));
    render(
      <CreateVmForm childType="kvm" distributions={[alpine]} sshKeys={[]} capacity={undefined} onSubmit={onSubmit} onCancel={() => undefined} />,
    );
    type('VM name', 'web');
    type('User name', 'alice');
    await submit('Create VM');
    expect(screen.getByRole('alert').textContent).toBe('A VM named web already exists on this host');
  });

  it('while the capacity is unknown says so and leaves the size to the server', async () => {
    const onSubmit = jest.fn().mockResolvedValue(undefined);
    render(<CreateVmForm childType="kvm" distributions={[debian]} sshKeys={[]} capacity={undefined} onSubmit={onSubmit} onCancel={() => undefined} />);
    expect(screen.getByText('Checking what this host has available…')).toBeTruthy();
    type('VM name', 'big');
    type('User name', 'alice');
    type('Memory (MiB)', '999999');
    await submit('Create VM');
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ memoryMb: 999999 }));
  });
});

describe('Create VM dialog on the host page (server capacity)', () => {
  const host: Host = {
    id: 'h1', hostname: 'kvm-01', fqdn: null, fingerprint: 'SHA256:abc', status: 'approved', platform: 'linux', osName: 'Debian',
    osVersion: '12', arch: 'x86_64', agentVersion: '0.1.0', online: true, lastSeenAt: null, firstSeenAt: '2026-01-01T00:00:00Z',
    roles: ['kvm_host'], parentHostId: null,
    // Raw facts with far more free than the server allows: the form must not use them.
    facts: { cpuCount: 8, memoryTotalBytes: 64 * 2 ** 30, memoryFreeBytes: 48 * 2 ** 30, disks: [{ mount: '/', sizeBytes: 2 ** 40, freeBytes: 900 * 2 ** 30 }], interfaces: [] },
  } as Host;
  const virt: Virtualization = {
    platform: 'linux', roles: ['kvm_host'], checkedAt: '2026-01-01T00:00:00Z',
    hypervisors: [{
      type: 'kvm', available: true, installed: true, enabled: true, running: true, initialized: true, cpuSupported: true,
      kernelSupported: true, needsInstall: false, needsEnable: false, needsReboot: false, version: '9.0', networks: [], details: [],
    }],
  };
  const debian: Distribution = {
    id: 'deb', childType: 'kvm', name: 'debian-12', version: '12', displayName: 'Debian 12', installIdentifier: 'debian12', defaultVcpus: 2,
    defaultMemoryMb: 2048, defaultDiskGb: 20, installCommands: [], enabled: true,
  };
  const capacity: ChildCapacity = { childType: 'kvm', availableMemoryMb: 6144, availableDiskGb: 50, reserveMemoryMb: 1024, reserveDiskGb: 10 };
  const send = async (dialog: HTMLElement) => {
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Create VM' }));
    });
  };
  /** Opens the dialog; `cap` null: the server has no capacity route. */
  const open = async (cap: unknown = capacity) => {
    const calls = mockFetch({
      'GET /api/hosts/h1': host,
      'GET /api/hosts/h1/virtualization': virt,
      'GET /api/hosts/h1/children': [],
      'GET /api/jobs': { items: [], total: 0 },
      'GET /api/distributions': [debian],
      'GET /api/ssh-keys': [],
      ...(cap === null ? {} : { 'GET /api/hosts/h1/children/capacity': cap }),
      'POST /api/hosts/h1/children': { id: 'job-1', type: 'child.create', status: 'queued' },
    });
    render(renderPage(<HostDetailPage />, { role: 'operator', path: '/hosts/h1', route: '/hosts/:id' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Create VM' }));
    const dialog = await screen.findByRole('dialog');
    await within(dialog).findByLabelText('Distribution');
    return { calls, dialog };
  };

  it('asks the server for this hypervisor and shows the available memory, disk and reserve, not the raw free figures', async () => {
    const { calls, dialog } = await open();
    const asked = calls.filter((c) => c.path === '/api/hosts/h1/children/capacity');
    expect(asked.map((c) => c.query)).toEqual([{ childType: 'kvm' }]);
    expect(
      await within(dialog).findByText(
        'Available for this VM: 6144 MiB of memory and 50 GiB of disk. The host keeps 1024 MiB and 10 GiB in reserve; creates under way are already counted.',
      ),
    ).toBeTruthy();
    expect(within(dialog).queryByText(/48\.0 GiB|900 GiB/)).toBeNull();
  });

  it('refuses memory and disk above the available figures without sending the create', async () => {
    const { calls, dialog } = await open();
    await within(dialog).findByText(/Available for this VM/);
    type('VM name', 'web-01');
    type('User name', 'alice');
    type('Memory (MiB)', '6145');
    type('Disk (GiB)', '51');
    await send(dialog);
    expect(
      within(dialog).getByText('At most 6144 MiB: that is what this host has available after keeping 1024 MiB in reserve and counting the creates under way.'),
    ).toBeTruthy();
    expect(
      within(dialog).getByText('At most 50 GiB: that is what this host has available after keeping 10 GiB in reserve and counting the creates under way.'),
    ).toBeTruthy();
    expect(screen.getByLabelText('Memory (MiB)').getAttribute('aria-invalid')).toBe('true');
    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('sends a VM of exactly the available size', async () => {
    const { calls, dialog } = await open();
    await within(dialog).findByText(/Available for this VM/);
    type('VM name', 'web-01');
    type('User name', 'alice');
    type('Memory (MiB)', '6144');
    type('Disk (GiB)', '50');
    await send(dialog);
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual(expect.objectContaining({ childType: 'kvm', memoryMb: 6144, diskGb: 50 }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('on a host already short of its reserve, refuses even the smallest VM', async () => {
    const { calls, dialog } = await open({ ...capacity, availableMemoryMb: -200, availableDiskGb: 3 });
    await within(dialog).findByText(/Available for this VM: 0 MiB of memory and 3 GiB of disk/);
    type('VM name', 'tiny');
    type('User name', 'alice');
    type('Memory (MiB)', '128');
    type('Disk (GiB)', '1');
    await send(dialog);
    expect(within(dialog).getByText(/^At most 0 MiB: /)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('when the capacity cannot be loaded, says so and still lets the server decide', async () => {
    const { calls, dialog } = await open(null);
    expect(await within(dialog).findByText(/^What this host has available could not be loaded \(no route GET/)).toBeTruthy();
    type('VM name', 'web-01');
    type('User name', 'alice');
    await send(dialog);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });
});
