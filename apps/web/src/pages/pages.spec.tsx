import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import i18n from '../i18n';
import { FakeSocket, mockFetch, renderPage } from '../testing/fakes';
import { HostDetailPage } from './HostDetailPage';
import { PendingPage } from './PendingPage';
import { DistributionsPage } from './DistributionsPage';
import type { ChildVm, Host, Virtualization } from '../types';

/** The app's `/ui` socket, so the whole app can be rendered: records whether it was closed. */
const mockSockets: { connected: boolean; disconnect: jest.Mock }[] = [];
jest.mock('socket.io-client', () => ({
  io: jest.fn(() => {
    const socket = { connected: true, on: jest.fn(), off: jest.fn(), disconnect: jest.fn() };
    mockSockets.push(socket);
    return socket;
  }),
}));

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

describe('hosts page', () => {
  const parent: Host = { ...host, id: 'p1', hostname: 'kvm-01', roles: ['kvm_host'] };
  const other: Host = { ...host, id: 'p2', hostname: 'mail-01', roles: [], platform: 'openbsd' };
  const child: Host = { ...host, id: 'c1', hostname: 'web-01', roles: [], parentHostId: 'p1' };
  const hostRequests = (calls: ReturnType<typeof mockFetch>) => calls.filter((c) => c.method === 'GET' && c.path === '/api/hosts').map((c) => c.query);
  const hostNames = () => screen.getAllByRole('row').slice(1).map((row) => within(row).queryByRole('link')?.textContent ?? row.textContent);

  it('asks the server for the search, filters, sort and page the operator chose', async () => {
    const { HostsPage } = await import('./HostsPage');
    const calls = mockFetch({ 'GET /api/hosts': (_body: unknown, q: Record<string, string>) => ({ items: q.q === 'mail' ? [other] : [parent, other], total: 120 }) });
    render(renderPage(<HostsPage />, { role: 'viewer', path: '/hosts', route: '/hosts' }));
    await screen.findByRole('link', { name: 'kvm-01' });
    // The unfiltered first page lists top-level hosts only, so children can sit under their parent.
    expect(hostRequests(calls)).toEqual([{ parentHostId: 'none', sort: 'hostname', order: 'asc', limit: '50', offset: '0' }]);
    expect(screen.getByText('1–50 of 120')).toBeTruthy();

    await act(async () => fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'approved' } }));
    await act(async () => fireEvent.change(screen.getByLabelText('Platform'), { target: { value: 'openbsd' } }));
    expect(hostRequests(calls).at(-1)).toEqual({ status: 'approved', platform: 'openbsd', parentHostId: 'none', sort: 'hostname', order: 'asc', limit: '50', offset: '0' });

    // Sorting: a second click on the same column turns the order round.
    const statusHeader = screen.getByRole('columnheader', { name: /Status/ });
    await act(async () => fireEvent.click(within(statusHeader).getByRole('button')));
    expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ sort: 'status', order: 'asc' }));
    expect(statusHeader.getAttribute('aria-sort')).toBe('ascending');
    await act(async () => fireEvent.click(within(statusHeader).getByRole('button')));
    expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ sort: 'status', order: 'desc' }));
    expect(statusHeader.getAttribute('aria-sort')).toBe('descending');

    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Next' })));
    expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ offset: '50', limit: '50', sort: 'status', order: 'desc', status: 'approved' }));
    expect(await screen.findByText('51–100 of 120')).toBeTruthy();
    await act(async () => fireEvent.change(screen.getByLabelText('Per page'), { target: { value: '100' } }));
    expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ limit: '100', offset: '0' }));

    // A search goes out once the typing stops, from the first page, as a flat list of every match.
    const before = hostRequests(calls).length;
    await act(async () => fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'mail' } }));
    expect(hostRequests(calls)).toHaveLength(before);
    await waitFor(() => expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ q: 'mail', offset: '0' })));
    expect(hostRequests(calls).at(-1)).not.toHaveProperty('parentHostId');
    await waitFor(() => expect(hostNames()).toEqual(['mail-01']));
  });

  it('shows a hypervisor host with its child beneath it as a tree', async () => {
    const { HostsPage } = await import('./HostsPage');
    const calls = mockFetch({
      'GET /api/hosts': (_body: unknown, q: Record<string, string>) =>
        q.parentHostId === 'p1' ? { items: [child], total: 1 } : { items: [parent, other], total: 2 },
    });
    render(renderPage(<HostsPage />, { role: 'operator', path: '/hosts', route: '/hosts' }));
    await screen.findByRole('link', { name: 'kvm-01' });
    expect(hostNames()).toEqual(['kvm-01', 'mail-01']);
    // Only a host that can have children gets a toggle.
    expect(screen.queryByRole('button', { name: 'Show children of mail-01' })).toBeNull();

    const toggle = screen.getByRole('button', { name: 'Show children of kvm-01' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    await act(async () => fireEvent.click(toggle));
    expect(await screen.findByRole('link', { name: 'web-01' })).toBeTruthy();
    expect(hostRequests(calls).at(-1)).toEqual(expect.objectContaining({ parentHostId: 'p1' }));
    // The child is listed right under its parent, indented one level, and links to its own page.
    expect(hostNames()).toEqual(['kvm-01', 'web-01', 'mail-01']);
    expect(screen.getByRole('link', { name: 'web-01' }).getAttribute('href')).toBe('/hosts/c1');
    const parentCell = screen.getByRole('link', { name: 'kvm-01' }).closest('td')!;
    const childCell = screen.getByRole('link', { name: 'web-01' }).closest('td')!;
    expect(parseFloat(childCell.style.paddingLeft)).toBeGreaterThan(parseFloat(parentCell.style.paddingLeft));
    expect(screen.getByRole('button', { name: 'Hide children of kvm-01' }).getAttribute('aria-expanded')).toBe('true');

    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Hide children of kvm-01' })));
    expect(hostNames()).toEqual(['kvm-01', 'mail-01']);
  });
});

describe('audit log', () => {
  const events = [
    {
      id: 'a1', createdAt: '2026-01-02T10:00:00.000Z', actor: 'alice', action: 'host.approve', targetType: 'host', targetId: 'h1',
      outcome: 'success', sourceIp: '10.0.0.5', details: { note: 'rack "A", row 2\nsecond line' },
    },
    {
      id: 'a2', createdAt: '2026-01-02T09:00:00.000Z', actor: '=cmd|calc', action: 'auth.login', targetType: 'user', targetId: 'bob "the", admin\nsecond',
      outcome: 'failure', sourceIp: null, details: null,
    },
  ];

  it('sends the filter the operator applied and exports the matching events as CSV, escaped', async () => {
    const { AuditPage } = await import('./AuditPage');
    const calls = mockFetch({ 'GET /api/audit-events': { items: events, total: 2 } });
    render(renderPage(<AuditPage />, { role: 'viewer', path: '/audit', route: '/audit' }));
    expect(await screen.findByText('host.approve')).toBeTruthy();
    const auditRequests = () => calls.filter((c) => c.path === '/api/audit-events').map((c) => c.query);
    expect(auditRequests()).toEqual([{ limit: '50', offset: '0' }]);

    // Typing alone asks nothing; Apply sends the filter.
    fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Outcome'), { target: { value: 'failure' } });
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-01-01T00:00' } });
    expect(auditRequests()).toHaveLength(1);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply' })));
    expect(auditRequests().at(-1)).toEqual({
      actor: 'alice', outcome: 'failure', since: new Date('2026-01-01T00:00').toISOString(), limit: '50', offset: '0',
    });

    const blobs: Blob[] = [];
    const downloads: string[] = [];
    URL.createObjectURL = jest.fn((blob: Blob) => {
      blobs.push(blob);
      return 'blob:audit';
    });
    URL.revokeObjectURL = jest.fn();
    const click = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push(this.download);
    });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Export CSV' })));
    click.mockRestore();
    // The export asks with the same filter, in big pages.
    expect(auditRequests().at(-1)).toEqual(expect.objectContaining({ actor: 'alice', outcome: 'failure', limit: '500', offset: '0' }));
    expect(downloads).toHaveLength(1);
    expect(downloads[0]).toMatch(/^sysfleet-audit-\d{4}-\d{2}-\d{2}T\d{6}\.csv$/);
    expect(blobs[0].type).toBe('text/csv;charset=utf-8');
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blobs[0]);
    });
    expect(text).toBe(
      'createdAt,actor,action,targetType,targetId,outcome,sourceIp,details\r\n' +
        // Quotes doubled, and a field with a comma, quote or newline quoted whole.
        '2026-01-02T10:00:00.000Z,alice,host.approve,host,h1,success,10.0.0.5,"{""note"":""rack \\""A\\"", row 2\\nsecond line""}"\r\n' +
        // A value a spreadsheet would run as a formula is defused; empty values stay empty.
        "2026-01-02T09:00:00.000Z,'=cmd|calc,auth.login,user,\"bob \"\"the\"\", admin\nsecond\",failure,,\r\n",
    );
  });
});

describe('csvField', () => {
  it('quotes commas, quotes and line breaks, and defuses formulas', async () => {
    const { csvField, toCsv } = await import('../format');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line 1\nline 2')).toBe('"line 1\nline 2"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-2,3')).toBe("\"'-2,3\"");
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
    expect(toCsv(['x', 'y'], [['1', 'a,b']])).toBe('x,y\r\n1,"a,b"\r\n');
  });
});

describe('logout', () => {
  it('ends the session on the server, closes the live socket and shows the sign-in form', async () => {
    const { App } = await import('../App');
    window.history.pushState({}, '', '/hosts');
    const calls = mockFetch({
      'GET /api/auth/me': { user: { id: 'u1', username: 'alice', role: 'operator' }, csrfToken: 'csrf-1' },
      'GET /api/hosts': { items: [host], total: 1 },
      'POST /api/auth/logout': undefined,
    });
    render(<App />);
    await screen.findByRole('link', { name: 'kvm-01' });
    expect(document.querySelector('.who')?.textContent).toBe('alice (operator)');
    expect(mockSockets).toHaveLength(1);

    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Log out' })));
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeTruthy();
    const logout = calls.filter((c) => c.path === '/api/auth/logout');
    expect(logout.map((c) => [c.method, c.headers['X-CSRF-Token']])).toEqual([['POST', 'csrf-1']]);
    expect(window.location.pathname).toBe('/login');
    expect(screen.queryByRole('button', { name: 'Log out' })).toBeNull();
    expect(screen.queryByText('alice (operator)')).toBeNull();
    expect(screen.queryByRole('link', { name: 'kvm-01' })).toBeNull();
    expect(mockSockets[0].disconnect).toHaveBeenCalled();
  });

  it('says so and keeps the user signed in when the server could not end the session', async () => {
    const { App } = await import('../App');
    window.history.pushState({}, '', '/hosts');
    const calls = mockFetch({
      'GET /api/auth/me': { user: { id: 'u1', username: 'alice', role: 'operator' }, csrfToken: 'csrf-1' },
      'GET /api/hosts': { items: [host], total: 1 },
      // fetch() rejects, as it does when the network is down.
      'POST /api/auth/logout': () => {
        throw new TypeError('Failed to fetch');
      },
    });
    render(<App />);
    const button = await screen.findByRole('button', { name: 'Log out' });
    await act(async () => fireEvent.click(button));
    expect(calls.filter((c) => c.path === '/api/auth/logout')).toHaveLength(1);
    expect(screen.getByRole('alert').textContent).toBe(
      'You are still signed in: The server cannot be reached. Check your connection and try again.',
    );
    expect(window.location.pathname).toBe('/hosts');
    expect(screen.getByRole('button', { name: 'Log out' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Sign in' })).toBeNull();
  });

});

describe('dashboard', () => {
  afterEach(() => jest.useRealTimers());

  const setup = async () => {
    const { DashboardPage } = await import('./DashboardPage');
    let online = 3;
    const calls = mockFetch({
      'GET /api/hosts': (_b: unknown, q: Record<string, string>) => ({ items: [], total: q.online === 'true' ? online : 0 }),
      'GET /api/jobs': { items: [], total: 0 },
      'GET /api/children': { items: [], total: 0 },
    });
    const socket = new FakeSocket();
    render(renderPage(<DashboardPage />, { role: 'viewer', path: '/', route: '/', socket }));
    const onlineStat = () => screen.getByRole('link', { name: /Online$/ }).querySelector('.stat-value')?.textContent;
    await waitFor(() => expect(onlineStat()).toBe('3'));
    const perRefresh = calls.length;
    expect(perRefresh).toBeGreaterThan(10);
    return { calls, socket, perRefresh, onlineStat, setOnline: (n: number) => (online = n) };
  };
  const advance = async (ms: number) => {
    await act(async () => {
      jest.advanceTimersByTime(ms);
    });
  };

  it('refreshes once for a burst of host and job events, a second later, with the new numbers', async () => {
    jest.useFakeTimers();
    const { calls, socket, perRefresh, onlineStat, setOnline } = await setup();
    setOnline(4);
    act(() => {
      for (let i = 0; i < 40; i++) {
        socket.emit('host.updated', { ...host, id: `h${i}`, online: true });
        socket.emit('job.updated', { id: `j${i}`, status: 'running', type: 'inventory.refresh', percent: i });
      }
      socket.emit('host.pending', { ...host, id: 'p9', status: 'pending' });
    });
    expect(calls.length).toBe(perRefresh);
    await advance(999);
    expect(calls.length).toBe(perRefresh);
    await advance(1);
    expect(calls.length).toBe(2 * perRefresh);
    expect(onlineStat()).toBe('4');
    // Nothing more once the burst has been handled.
    await advance(5000);
    expect(calls.length).toBe(2 * perRefresh);
  });

  it('keeps refreshing about once a second while events never stop', async () => {
    jest.useFakeTimers();
    const { calls, socket, perRefresh } = await setup();
    // An event every 200 ms for 5 s: a debounce would never fire; this refreshes every second.
    for (let i = 0; i < 25; i++) {
      act(() => socket.emit('job.updated', { id: 'j1', status: 'running', type: 'child.create', percent: i * 4 }));
      await advance(200);
    }
    expect((calls.length - perRefresh) / perRefresh).toBe(5);
  });
});

describe('distributions', () => {
  it('lets an admin add a KVM appliance that boots with UEFI, and refuses UEFI for vmd in the form', async () => {
    const calls = mockFetch({ 'GET /api/distributions': [], 'POST /api/distributions': (body: unknown) => ({ id: 'd1', ...(body as object) }) });
    render(renderPage(<DistributionsPage />, { role: 'admin', path: '/distributions', route: '/distributions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Add distribution' }));
    const dialog = within(screen.getByRole('dialog'));
    const type = (label: string, value: string) => fireEvent.change(dialog.getByLabelText(label), { target: { value } });
    type('Hypervisor', 'vmm');
    type('Firmware', 'uefi');
    type('Name', 'haos');
    type('Version', '13');
    type('Display name', 'Home Assistant OS 13');
    type('Install identifier', 'generic');
    type('Image URL', 'https://example.org/haos.qcow2');
    fireEvent.click(dialog.getByLabelText('Appliance'));
    await act(async () => fireEvent.click(dialog.getByRole('button', { name: 'Save' })));
    expect(dialog.getByText('Only KVM VMs can boot with UEFI.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    type('Hypervisor', 'kvm');
    await act(async () => fireEvent.click(dialog.getByRole('button', { name: 'Save' })));
    const post = calls.find((c) => c.method === 'POST' && c.path === '/api/distributions');
    expect(post?.body).toMatchObject({ childType: 'kvm', name: 'haos', firmware: 'uefi', appliance: true, installCommands: [] });
  });
});
