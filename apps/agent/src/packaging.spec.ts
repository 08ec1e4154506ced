import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  describe('install-windows-service.ps1 (content only: there is no Windows here)', () => {
    const ps1 = read('install-windows-service.ps1');
    /** The C# service wrapper the script compiles with Add-Type. */
    const wrapper = (() => {
      const m = /^\$WrapperSource = @'\r?\n([\s\S]*?)\r?\n'@$/m.exec(ps1);
      if (!m) throw new Error('no $WrapperSource here-string');
      return m[1];
    })();
    const hasMcs = (() => {
      try {
        execFileSync('mcs', ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();

    it('takes -Server (required), -Token and -NodePath, and refuses PowerShell 7', () => {
      expect(ps1).toMatch(/param\(\s*\[Parameter\(Mandatory = \$true\)\]\[string\]\$Server,\s*\[string\]\$Token = '',\s*\[string\]\$NodePath = ''\s*\)/);
      expect(ps1).toMatch(/if \(\$PSVersionTable\.PSEdition -eq 'Core'\) \{ throw /);
    });

    it('registers a real service running the compiled wrapper with node, the bundle and the state dir', () => {
      expect(ps1).toMatch(/^\$ServiceName = 'SysfleetAgent'$/m);
      expect(ps1).toMatch(/^\$ServiceExe = Join-Path \$LibDir 'SysfleetAgentService\.exe'$/m);
      expect(ps1).toContain("Add-Type -TypeDefinition $WrapperSource -Language CSharp -ReferencedAssemblies 'System.ServiceProcess' `\n    -OutputAssembly $ServiceExe -OutputType ConsoleApplication");
      // The ImagePath carries exactly the three arguments Main expects, each quoted (paths with spaces).
      expect(ps1).toContain('$BinaryPath = "`"$ServiceExe`" `"$NodePath`" `"$Bundle`" `"$StateDir`""');
      expect(wrapper).toContain('if (args.Length != 3)');
      expect(wrapper).toContain('ServiceBase.Run(new AgentService(args[0], args[1], args[2]));');
      expect(ps1).toMatch(/New-Service -Name \$ServiceName -BinaryPathName \$BinaryPath .*-StartupType Automatic/);
      expect(ps1).toMatch(/PathName = \$BinaryPath; StartMode = 'Automatic'/); // an upgrade re-points the existing service
      expect(ps1).toMatch(/^Start-Service -Name \$ServiceName$/m);
      // The wrapper names itself as the script registers it.
      expect(wrapper).toContain('ServiceName = "SysfleetAgent";');
    });

    it('the wrapper starts node with `BUNDLE run --state-dir DIR` on start, ends it on stop, and fails when node dies', () => {
      expect(wrapper).toMatch(/public class AgentService : ServiceBase/);
      expect(wrapper).toContain('new ProcessStartInfo(node, "\\"" + bundle + "\\" run --state-dir \\"" + stateDir + "\\"")');
      const body = (method: string) => {
        const m = new RegExp(`protected override void ${method}\\([^)]*\\)\\s*\\{([\\s\\S]*?)\\n        \\}`).exec(wrapper);
        if (!m) throw new Error(`no ${method}`);
        return m[1];
      };
      expect(body('OnStart')).toContain('agent.Start();');
      expect(body('OnStop')).toContain('StopAgent();');
      expect(wrapper).toMatch(/private void StopAgent\(\)[\s\S]*agent\.Kill\(\);/);
      // node.exe exiting on its own stops the service with an error, so the SCM recovery restarts it.
      expect(wrapper).toMatch(/private void OnAgentExited[\s\S]*ExitCode = AgentDied;\s*Stop\(\);/);
      expect(ps1).toMatch(/sc\.exe failure \$ServiceName reset= \d+ actions= restart\/60000/);
      expect(ps1).toMatch(/sc\.exe failureflag \$ServiceName 1/);
      // Its output, and the agent's, go to the log in the state dir.
      expect(wrapper).toContain('Path.Combine(stateDir, "agent.log")');
    });

    it('the wrapper is C# 5, which the .NET Framework compiler of Windows PowerShell takes', () => {
      expect(wrapper).not.toMatch(/\$"|\?\.|\bnameof\b|=>/);
    });

    (hasMcs ? it : it.skip)('the wrapper compiles as C# 5 against System.ServiceProcess (mcs)', () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sfa-wrapper-'));
      try {
        writeFileSync(path.join(dir, 'wrapper.cs'), wrapper);
        execFileSync('mcs', ['-langversion:5', '-warnaserror', '-target:exe', '-r:System.ServiceProcess', `-out:${path.join(dir, 'w.exe')}`, path.join(dir, 'wrapper.cs')], { stdio: 'pipe' });
        expect(existsSync(path.join(dir, 'w.exe'))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('checks the checksum before installing anything, and moves an old scheduled-task install to the service', () => {
      const mismatch = ps1.indexOf('if ($want -ne $got) { throw');
      expect(mismatch).toBeGreaterThan(0);
      for (const step of ['Copy-Item -Force', 'Add-Type -TypeDefinition', 'New-Service', 'Start-Service']) expect(ps1.indexOf(step)).toBeGreaterThan(mismatch);
      expect(ps1).toMatch(/Unregister-ScheduledTask -TaskName \$LegacyTaskName/);
      expect(ps1).not.toContain('Register-ScheduledTask -TaskName');
    });
  });
});
