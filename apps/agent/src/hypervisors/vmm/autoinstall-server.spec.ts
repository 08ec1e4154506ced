import { createServer } from 'node:net';
import { autoinstallPort, serveAutoinstall } from './autoinstall-server';

const CONF = 'System hostname = bsd1\nPublic ssh key for root account = ssh-ed25519 AAAA k\n';

async function get(port: number, path: string): Promise<{ status: number; body: string } | Error> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return new Error(`unreachable: ${(e as Error).message}`);
  }
}

describe('autoinstall response file server', () => {
  it('serves exactly /<MAC>-install.conf and /install.conf, 404 otherwise, and listens no more once closed', async () => {
    const served = await serveAutoinstall(CONF, 0, '127.0.0.1');
    expect(await get(served.port, '/install.conf')).toEqual({ status: 200, body: CONF });
    expect(await get(served.port, '/fe:e1:ba:d0:12:ab-install.conf')).toEqual({ status: 200, body: CONF });
    for (const path of ['/', '/install.conf/', '/x-install.conf', '/../install.conf.bak', '/disklabel', '/bsd1-install.conf']) expect(await get(served.port, path)).toMatchObject({ status: 404 });
    expect(served.requests).toEqual(['/install.conf', '/fe:e1:ba:d0:12:ab-install.conf']);
    await served.close();
    expect(await get(served.port, '/install.conf')).toBeInstanceOf(Error);
  });

  it('fails with a clear step error when the port is taken, leaving nothing listening', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(serveAutoinstall(CONF, port, '127.0.0.1')).rejects.toMatchObject({ step: 'install-media', message: expect.stringMatching(/port is in use/) });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    expect(await get(port, '/install.conf')).toBeInstanceOf(Error);
  });

  it('takes its port from SYSFLEET_VMD_AUTOINSTALL_PORT, 80 by default, and refuses a bad one', () => {
    expect(autoinstallPort({})).toBe(80);
    expect(autoinstallPort({ SYSFLEET_VMD_AUTOINSTALL_PORT: '8080' })).toBe(8080);
    expect(() => autoinstallPort({ SYSFLEET_VMD_AUTOINSTALL_PORT: 'http' })).toThrow(/not a TCP port/);
  });
});
