import { act, fireEvent, render, screen } from '@testing-library/react';
import i18n from '../i18n';
import { mockFetch, renderPage } from '../testing/fakes';
import { SshKeysPage } from './SshKeysPage';

beforeAll(async () => {
  await i18n.changeLanguage('en');
});

const PRIVATE = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
const generated = { id: 'k1', name: 'ops', publicKey: 'ssh-ed25519 AAAAC3 ops', fingerprint: 'SHA256:x', generated: true, createdBy: 'operator', createdAt: '2026-01-01T00:00:00Z' };

describe('SSH keys page', () => {
  it('shows a generated private key once, with copy, and forgets it on Done', async () => {
    const writeText = jest.fn(async () => undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    let listed: unknown[] = [];
    const calls = mockFetch({
      'GET /api/ssh-keys': () => listed,
      'POST /api/ssh-keys': () => {
        listed = [generated];
        return { ...generated, privateKey: PRIVATE };
      },
    });
    render(renderPage(<SshKeysPage />, { role: 'operator', path: '/ssh-keys', route: '/ssh-keys' }));
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'ops' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add key' }));

    const shown = await screen.findByText((_, el) => el?.tagName === 'PRE' && el.textContent === PRIVATE);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'ops', generate: true });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    });
    expect(writeText).toHaveBeenCalledWith(PRIVATE);
    expect(await screen.findByText('ops')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(shown.isConnected).toBe(false);
    expect(document.body.textContent).not.toContain('BEGIN OPENSSH PRIVATE KEY');
  });

  it('shows no private key block for an imported public key', async () => {
    let listed: unknown[] = [];
    mockFetch({
      'GET /api/ssh-keys': () => listed,
      'POST /api/ssh-keys': () => {
        listed = [{ ...generated, name: 'laptop', generated: false }];
        return listed[0];
      },
    });
    render(renderPage(<SshKeysPage />, { role: 'operator', path: '/ssh-keys', route: '/ssh-keys' }));
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'laptop' } });
    fireEvent.click(screen.getByLabelText('Paste a public key'));
    fireEvent.change(screen.getByLabelText('Public key'), { target: { value: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add key' }));
    await screen.findByText('laptop', { selector: 'td' });
    expect(document.body.textContent).not.toContain('PRIVATE KEY');
    expect(screen.queryByRole('button', { name: 'Done' })).toBeNull();
  });
});
