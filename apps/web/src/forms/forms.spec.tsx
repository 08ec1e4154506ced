import { act, fireEvent, render, screen } from '@testing-library/react';
import i18n from '../i18n';
import { ApiError } from '../api';
import { LoginForm } from './LoginForm';
import { TokenForm } from './TokenForm';
import { UserForm } from './UserForm';
import { CreateVmForm } from './CreateVmForm';
import type { Distribution } from '../types';

beforeAll(async () => {
  await i18n.changeLanguage('en');
});

const GiB = 2 ** 30;
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

describe('CreateVmForm', () => {
  const debian: Distribution = {
    id: 'deb', childType: 'kvm', name: 'debian-12', version: '12', displayName: 'Debian 12', installIdentifier: 'debian12', defaultVcpus: 2,
    defaultMemoryMb: 4096, defaultDiskGb: 30, installCommands: [], enabled: true,
  };
  const alpine: Distribution = { ...debian, id: 'alp', name: 'alpine', displayName: 'Alpine 3.20', defaultMemoryMb: 512, defaultDiskGb: 4 };
  const openbsd: Distribution = { ...debian, id: 'obsd', childType: 'vmm', displayName: 'OpenBSD 7.6' };
  const disabled: Distribution = { ...debian, id: 'old', displayName: 'Debian 10', enabled: false };
  const setup = (capacity = { memoryFreeBytes: 3 * GiB, diskFreeBytes: 100 * GiB }) => {
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

  it('offers only the enabled distributions of this hypervisor and shows what the host has free', () => {
    setup();
    const options = screen.getAllByRole('option').map((o) => o.textContent);
    expect(options).toEqual(['Debian 12', 'Alpine 3.20']);
    expect(screen.getByText('This host has 3.0 GiB of memory and 100 GiB of disk free.')).toBeTruthy();
    expect((screen.getByLabelText('Memory (MiB)') as HTMLInputElement).value).toBe('4096');
  });

  it('refuses a VM larger than the free memory and bad names, without sending', async () => {
    const onSubmit = setup();
    type('VM name', 'web 01');
    type('Host name', '-web');
    type('User name', 'Root');
    type('vCPUs', '257');
    await submit('Create VM');
    expect(screen.getByText('The host has only 3072 MiB of free memory.')).toBeTruthy();
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

  it('shows the server error when the create is refused', async () => {
    const onSubmit = jest.fn().mockRejectedValue(new ApiError(409, 'CHILD_NAME_TAKEN', 'A VM named web already exists on this host'));
    render(
      <CreateVmForm childType="kvm" distributions={[alpine]} sshKeys={[]} capacity={{}} onSubmit={onSubmit} onCancel={() => undefined} />,
    );
    type('VM name', 'web');
    type('User name', 'alice');
    await submit('Create VM');
    expect(screen.getByRole('alert').textContent).toBe('A VM named web already exists on this host');
  });
});
