import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PACKAGING = path.resolve(__dirname, '../packaging');
const read = (f: string) => readFileSync(path.join(PACKAGING, f), 'utf8');

/** The text of a quoted heredoc in install.sh, e.g. <<'UNIT' ... UNIT. */
function heredoc(script: string, tag: string): string {
  const m = new RegExp(`<<'${tag}'\\n([\\s\\S]*?)\\n${tag}\\n`).exec(script);
  if (!m) throw new Error(`no heredoc ${tag}`);
  return m[1] + '\n';
}

function runInstall(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', [path.join(PACKAGING, 'install.sh'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

describe('packaging', () => {
  it('install.sh writes exactly the shipped systemd unit and rc.d script', () => {
    const script = read('install.sh');
    expect(heredoc(script, 'UNIT')).toBe(read('sysfleet-agent.service'));
    expect(heredoc(script, 'RCD')).toBe(read('sysfleet_agent'));
  });

  it('the systemd unit restarts the agent and runs the installed bundle', () => {
    const unit = read('sysfleet-agent.service');
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/env node \/usr\/local\/lib\/sysfleet\/sysfleet-agent\.cjs run --state-dir \/var\/lib\/sysfleet-agent$/m);
  });

  describe('install.sh against a server', () => {
    // Stands in for the bundle: install.sh runs it once, for the fingerprint.
    const bundle = 'process.stdout.write("SHA256:fake-fingerprint\\n");\n';
    let checksum = createHash('sha256').update(bundle).digest('hex');
    let http: Server;
    let server: string;
    let root: string;

    beforeAll(async () => {
      http = createServer((req, res) => {
        if (req.url === '/agent/sysfleet-agent.cjs') res.end(bundle);
        else if (req.url === '/agent/sysfleet-agent.cjs.sha256') res.end(`${checksum}  sysfleet-agent.cjs\n`);
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      server = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((r) => http.close(r)));
    beforeEach(() => (root = mkdtempSync(path.join(os.tmpdir(), 'sfa-install-'))));
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('downloads and checks the bundle, then installs it, agent.json and the unit', async () => {
      const r = await runInstall(['--server', `${server}/`, '--token', 'tok-0123456789abcdef', '--node', process.execPath], { DESTDIR: root });
      expect(r.out).toContain('key fingerprint: SHA256:fake-fingerprint');
      expect(r.code).toBe(0);
      expect(readFileSync(path.join(root, 'usr/local/lib/sysfleet/sysfleet-agent.cjs'), 'utf8')).toBe(bundle);
      expect(JSON.parse(readFileSync(path.join(root, 'var/lib/sysfleet-agent/agent.json'), 'utf8'))).toEqual({ server, enrollmentToken: 'tok-0123456789abcdef' });
      expect(statSync(path.join(root, 'var/lib/sysfleet-agent')).mode & 0o777).toBe(0o700);
      expect(readFileSync(path.join(root, 'etc/systemd/system/sysfleet-agent.service'), 'utf8')).toBe(read('sysfleet-agent.service'));
    });

    it('installs nothing when the checksum does not match', async () => {
      const good = checksum;
      checksum = '0'.repeat(64);
      try {
        const r = await runInstall(['--server', server, '--node', process.execPath], { DESTDIR: root });
        expect(r.code).not.toBe(0);
        expect(r.out).toContain('checksum mismatch');
        expect(existsSync(path.join(root, 'usr'))).toBe(false);
      } finally {
        checksum = good;
      }
    });

    it('refuses a bad server or token before downloading', async () => {
      expect((await runInstall(['--server', 'fleet.example.org'], { DESTDIR: root })).out).toContain('server must be http(s)://host[:port]');
      expect((await runInstall(['--server', server, '--token', 'a"b'], { DESTDIR: root })).out).toContain('token has unexpected characters');
      expect((await runInstall([], { DESTDIR: root })).out).toContain('no server given');
    });
  });
});
