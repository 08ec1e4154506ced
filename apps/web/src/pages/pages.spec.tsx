import { act, render, screen, within } from '@testing-library/react';
import i18n from '../i18n';
import { FakeSocket, mockFetch, renderPage } from '../testing/fakes';
import { HostDetailPage } from './HostDetailPage';
import { PendingPage } from './PendingPage';
import type { ChildVm, Host, Virtualization } from '../types';

beforeAll(async () => {
  await i18n.changeLanguage('en');
});

const host: Host = {
  id: 'h1', hostname: 'kvm-01', fqdn: 'kvm-01.lab', fingerprint: 'SHA256:abc', status: 'approved', platform: 'linux',
  osName: 'Debian', osVersion: '12', arch: 'x86_64', agentVersion: '0.1.0', online: true, lastSeenAt: null,
  firstSeenAt: '2026-01-01T00:00:00Z', roles: ['kvm_host'], parentHostId: null,
  facts: { cpuCount: 8, cpuModel: 'Xeon', memoryTotalBytes: 32 * 2 ** 30, memoryFreeBytes: 20 * 2 ** 30, disks: [{ mount: '/', sizeBytes: 500 * 2 ** 30, freeBytes: 300 * 2 ** 30 }], interfaces: [] },
};
const virt: Virtualization = {
  platform: 'linux', roles: ['kvm_host'], checkedAt: '2026-01-01T00:00:00Z',
  hypervisors: [{
    type: 'kvm', available: true, installed: true, enabled: true, running: true, initialized: true, cpuSupported: true,
    kernelSupported: true, needsInstall: false, needsEnable: false, needsReboot: false, version: '9.0',
    networks: [{ name: 'default', active: true, autostart: true, mode: 'nat' }], details: [],
  }],
};
const vm: ChildVm = {
  id: 'c1', hostId: 'h1', name: 'web-01', childType: 'kvm', hostname: 'web-01', state: 'running', ip: '192.168.122.10',
  vcpus: 2, memoryMb: 2048, diskGb: 20, childHostId: null, createdAt: '2026-01-01T00:00:00Z',
};
const hostRoutes = {
  'GET /api/hosts/h1': host,
  'GET /api/hosts/h1/virtualization': virt,
  'GET /api/hosts/h1/children': [vm],
  'GET /api/jobs': { items: [], total: 0 },
};

describe('host detail', () => {
  it('a viewer sees the host, its hypervisor and VMs, and no button that changes anything', async () => {
    mockFetch(hostRoutes);
    render(renderPage(<HostDetailPage />, { role: 'viewer', path: '/hosts/h1', route: '/hosts/:id' }));
    expect(await screen.findByText('192.168.122.10')).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'kvm-01' })).toBeTruthy();
    expect(screen.getByText('KVM', { selector: 'h3' })).toBeTruthy();
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByRole('form')).toBeNull();
  });

  it('an operator gets the host, hypervisor and VM actions', async () => {
    mockFetch(hostRoutes);
    render(renderPage(<HostDetailPage />, { role: 'operator', path: '/hosts/h1', route: '/hosts/:id' }));
    await screen.findByText('192.168.122.10');
    const names = screen.getAllByRole('button').map((b) => b.textContent);
    expect(names).toEqual(
      expect.arrayContaining(['Refresh inventory', 'Revoke', 'Delete host', 'Check again', 'Apply network', 'Create VM', 'Stop', 'Restart', 'Force stop', 'Delete']),
    );
    // A running, initialised KVM needs no initialising.
    expect(names).not.toContain('Initialise');
  });

  it('offers Initialise and warns about a reboot only where they apply', async () => {
    mockFetch({
      ...hostRoutes,
      'GET /api/hosts/h1/virtualization': {
        ...virt,
        hypervisors: [
          { ...virt.hypervisors[0], installed: false, enabled: false, running: false, initialized: false, needsInstall: true, networks: [] },
        ],
      },
    });
    render(renderPage(<HostDetailPage />, { role: 'operator', path: '/hosts/h1', route: '/hosts/:id' }));
    expect(await screen.findByRole('button', { name: 'Initialise' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Create VM' })).toBeNull();
    expect(screen.queryByText(/reboot of this host is needed/)).toBeNull();
  });
});

describe('pending hosts', () => {
  const pending: Host = { ...host, id: 'p1', hostname: 'new-box', status: 'pending', roles: [], facts: null };

  it('shows hosts as they enrol and drops them once approved elsewhere, without reloading', async () => {
    const socket = new FakeSocket();
    const calls = mockFetch({ 'GET /api/hosts': { items: [], total: 0 } });
    render(renderPage(<PendingPage />, { role: 'operator', path: '/pending', route: '/pending', socket }));
    expect(await screen.findByText('No hosts are waiting for approval.')).toBeTruthy();
    const listCalls = calls.length;

    act(() => socket.emit('host.pending', pending));
    expect(screen.getByText('new-box')).toBeTruthy();
    expect(screen.getByText('SHA256:abc')).toBeTruthy();

    act(() => socket.emit('host.updated', { ...pending, status: 'approved' }));
    expect(screen.queryByText('new-box')).toBeNull();
    // The page changed from the pushed events alone.
    expect(calls.length).toBe(listCalls);
  });

  it('ignores malformed socket payloads', async () => {
    const socket = new FakeSocket();
    mockFetch({ 'GET /api/hosts': { items: [], total: 0 } });
    render(renderPage(<PendingPage />, { role: 'operator', path: '/pending', route: '/pending', socket }));
    await screen.findByText('No hosts are waiting for approval.');
    act(() => socket.emit('host.pending', { hostname: 'no-id' }));
    expect(screen.queryByText('no-id')).toBeNull();
  });

  it('applies every update of a batch in order and skips the malformed ones', async () => {
    const socket = new FakeSocket();
    mockFetch({ 'GET /api/hosts': { items: [], total: 0 } });
    render(renderPage(<PendingPage />, { role: 'operator', path: '/pending', route: '/pending', socket }));
    await screen.findByText('No hosts are waiting for approval.');
    act(() => socket.emitBatch([
      ['host.pending', pending],
      'not a pair',
      ['host.pending', { hostname: 'no-id' }],
      ['host.pending', { ...pending, id: 'p2', hostname: 'second-box' }],
      ['host.updated', { ...pending, status: 'approved' }],
    ]));
    expect(screen.queryByText('new-box')).toBeNull();
    expect(screen.getByText('second-box')).toBeTruthy();
    expect(screen.queryByText('no-id')).toBeNull();
    act(() => socket.emitBatch({ not: 'an array' }));
    expect(screen.getByText('second-box')).toBeTruthy();
  });

  it('approves the selected hosts in one request with the CSRF header', async () => {
    const calls = mockFetch({
      'GET /api/hosts': { items: [pending, { ...pending, id: 'p2', hostname: 'other-box' }], total: 2 },
      'POST /api/hosts/approve': { changed: 2, results: [] },
    });
    const { setCsrfToken } = await import('../api');
    setCsrfToken('csrf-1');
    render(renderPage(<PendingPage />, { role: 'operator', path: '/pending', route: '/pending' }));
    await screen.findByText('other-box');
    act(() => screen.getByLabelText('Select all').click());
    await act(async () => screen.getByRole('button', { name: 'Approve selected (2)' }).click());
    const post = calls.find((c) => c.method === 'POST');
    expect(post).toMatchObject({ path: '/api/hosts/approve', body: { ids: ['p1', 'p2'] } });
    expect(post?.headers['X-CSRF-Token']).toBe('csrf-1');
    expect(screen.getByText('No hosts are waiting for approval.')).toBeTruthy();
  });

  it('a viewer sees pending hosts without approve or reject buttons and without tokens', async () => {
    mockFetch({ 'GET /api/hosts': { items: [pending], total: 1 } });
    render(renderPage(<PendingPage />, { role: 'viewer', path: '/pending', route: '/pending' }));
    const row = (await screen.findByText('new-box')).closest('tr')!;
    expect(within(row).queryAllByRole('button')).toEqual([]);
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByText('Enrolment tokens')).toBeNull();
  });
});

describe('job detail', () => {
  const job = {
    id: 'j1', hostId: 'h1', type: 'child.create', params: { name: 'web-01' }, status: 'running', step: 'image', percent: 10,
    result: null, error: null, createdBy: 'alice', createdAt: '2026-01-01T00:00:00Z', finishedAt: null,
    events: [{ seq: 1, step: 'image', message: 'downloading debian-12.qcow2', percent: 10, at: '2026-01-01T00:00:01Z' }],
  };

  it('follows progress, steps and output live, and drops Cancel when the job ends', async () => {
    const { JobDetailPage } = await import('./JobDetailPage');
    const socket = new FakeSocket();
    mockFetch({ 'GET /api/jobs/j1': job });
    render(renderPage(<JobDetailPage />, { role: 'operator', path: '/jobs/j1', route: '/jobs/:id', socket }));
    expect(await screen.findByText('image: downloading debian-12.qcow2')).toBeTruthy();
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('10');
    expect(screen.getByRole('button', { name: 'Cancel job' })).toBeTruthy();

    act(() => {
      socket.emit('job.event', { jobId: 'j1', seq: 2, step: 'boot', message: 'virt-install started', percent: 60, at: '2026-01-01T00:00:05Z' });
      // A repeat of an event already shown is not shown twice; another job's events are ignored.
      socket.emit('job.event', { jobId: 'j1', seq: 1, step: 'image', message: 'downloading debian-12.qcow2', percent: 10, at: '2026-01-01T00:00:01Z' });
      socket.emit('job.event', { jobId: 'other', seq: 3, step: 'x', message: 'not mine', percent: 99, at: '2026-01-01T00:00:06Z' });
    });
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('60');
    expect(screen.getByLabelText('Output').textContent).toBe('image: downloading debian-12.qcow2\nboot: virt-install started');
    expect(screen.getAllByRole('listitem').map((li) => li.querySelector('span')?.textContent)).toEqual(['image', 'boot']);

    act(() => socket.emit('job.updated', { ...job, events: undefined, status: 'succeeded', percent: 100, finishedAt: '2026-01-01T00:01:00Z' }));
    expect(screen.getByText('Succeeded')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Cancel job' })).toBeNull();
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
  });
});
