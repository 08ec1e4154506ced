import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, ToolOutput } from '../cli';
import { configureSimulation, simBinDir } from '../environment';
import { initialState, readState, STATE_FILE, updateState, writeJsonAtomic } from '../state';
import { userDataKeys } from './guests';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx5bJ2OlJt1m4v9wM0p8TQcVhYzZ7kJ0q2g7pXbQm1A sysfleet-web1';

function simHost(kind: 'kvm' | 'vmm' | 'wsl') {
  const dir = mkdtempSync(join(tmpdir(), `host-sim-guests-${kind}-`));
  writeJsonAtomic(join(dir, STATE_FILE), initialState(kind));
  const env = { ...process.env, SYSFLEET_SIM_STATE: dir, SYSFLEET_HOST_ROOT: join(dir, 'root') };
  const tool = (name: string, ...args: string[]): ToolOutput => runTool(name, args, env, dir);
  const text = (o: ToolOutput) => (Buffer.isBuffer(o.stdout) ? o.stdout.toString('utf16le') : (o.stdout ?? ''));
  return { dir, tool, text, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('simulated KVM guest creation', () => {
  const host = simHost('kvm');
  beforeAll(() =>
    updateState(host.dir, (s) => {
      s.packages.push('qemu-utils', 'cloud-image-utils', 'virtinst', 'libvirt-clients', 'libvirt-daemon-system');
      s.services.libvirtd = { enabled: true, running: true };
      s.networks.push({ name: 'default', uuid: 'u', forward: 'nat', bridge: 'virbr0', active: true, autostart: true, persistent: true });
    }),
  );
  afterAll(() => host.cleanup());

  it('qemu-img makes an overlay on its backing file, resizes it, refuses to shrink, and reports it', () => {
    writeFileSync(join(host.dir, 'base.img'), Buffer.alloc(4096));
    expect(host.tool('qemu-img', 'create', '-f', 'qcow2', '-b', 'base.img', 'o.qcow2')).toMatchObject({ code: 1, stderr: expect.stringMatching(/Backing file specified without backing format/) });
    const created = host.tool('qemu-img', 'create', '-f', 'qcow2', '-F', 'qcow2', '-b', 'base.img', 'o.qcow2');
    expect(created).toMatchObject({ code: 0, stdout: "Formatting 'o.qcow2', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=4096 backing_file=base.img backing_fmt=qcow2 lazy_refcounts=off refcount_bits=16\n" });
    expect(host.tool('qemu-img', 'resize', 'o.qcow2', '20G')).toMatchObject({ code: 0, stdout: 'Image resized.\n' });
    expect(host.tool('qemu-img', 'resize', 'o.qcow2', '1G')).toMatchObject({ code: 1, stderr: expect.stringMatching(/--shrink/) });
    const info = host.text(host.tool('qemu-img', 'info', 'o.qcow2'));
    expect(info).toMatch(/^image: o\.qcow2\nfile format: qcow2\nvirtual size: 20 GiB \(21474836480 bytes\)\n/);
    expect(info).toMatch(/\nbacking file: base\.img\nbacking file format: qcow2\n/);
  });

  it('cloud-localds writes the seed and hands the user-data keys to the guest sshd stand-in', () => {
    const authorized = join(host.dir, 'authorized_keys');
    configureSimulation(host.dir, { guestAuthorizedKeysFile: authorized });
    writeFileSync(join(host.dir, 'user-data'), `#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys:\n      - "${KEY}"\nssh_pwauth: false\n`);
    writeFileSync(join(host.dir, 'meta-data'), 'instance-id: web1\n');
    expect(host.tool('cloud-localds', 'seed.iso', 'user-data', 'meta-data')).toMatchObject({ code: 0 });
    expect(existsSync(join(host.dir, 'seed.iso'))).toBe(true);
    expect(readFileSync(authorized, 'utf8')).toBe(KEY + '\n');
    writeFileSync(join(host.dir, 'plain'), 'echo hi\n');
    expect(host.tool('cloud-localds', 'x.iso', 'plain')).toMatchObject({ code: 1, stderr: expect.stringMatching(/not #cloud-config/) });
  });

  it('virt-install defines and starts a domain once; a second one of the same name fails like virt-install', () => {
    const args = ['--import', '--name', 'web1', '--memory', '1024', '--vcpus', '2', '--disk', 'path=o.qcow2,format=qcow2', '--disk', 'path=seed.iso,device=cdrom', '--network', 'network=default', '--osinfo', 'debian12', '--noautoconsole'];
    expect(host.tool('virt-install', ...args)).toMatchObject({ code: 0, stdout: expect.stringMatching(/Domain creation completed\.\n$/) });
    expect(readState(host.dir).machines[0]).toMatchObject({ name: 'web1', state: 'running', vcpus: 2, memoryKiB: 1024 * 1024, disks: [join(host.dir, 'o.qcow2')] });
    expect(host.tool('virt-install', ...args)).toMatchObject({ code: 1, stderr: "ERROR    Guest name 'web1' is already in use.\n" });
    expect(host.tool('virt-install', ...args.map((a) => (a === 'web1' ? 'web2' : a === 'network=default' ? 'network=nope' : a)))).toMatchObject({ code: 1, stderr: expect.stringMatching(/no network with matching name 'nope'/) });
    const addr = host.tool('virsh', 'domifaddr', 'web1', '--source', 'lease');
    expect(addr.stdout).toMatch(/^ Name {7}MAC address {10}Protocol {5}Address\n-{79}\n vnet0 {6}52:54:00:[0-9a-f:]{8} {4}ipv4 {9}192\.168\.122\.45\/24\n\n$/);
    expect(host.tool('virsh', 'destroy', 'web1')).toMatchObject({ code: 0 });
    expect(host.tool('virsh', 'undefine', 'web1', '--remove-all-storage')).toMatchObject({ code: 0, stdout: `Domain 'web1' has been undefined\nVolume 'vda'(${join(host.dir, 'o.qcow2')}) removed.\n\n` });
    expect(existsSync(join(host.dir, 'o.qcow2'))).toBe(false);
    expect(existsSync(join(host.dir, 'seed.iso'))).toBe(true);
  });

  it('virt-install --boot uefi needs OVMF; with it the domain boots efi, shows it in dumpxml and undefines only with --nvram', () => {
    writeFileSync(join(host.dir, 'ha.qcow2'), Buffer.alloc(4096));
    const args = ['--import', '--name', 'ha1', '--memory', '2048', '--vcpus', '2', '--disk', 'path=ha.qcow2,format=qcow2,bus=virtio', '--network', 'network=default', '--osinfo', 'linux2022', '--boot', 'uefi', '--noautoconsole'];
    expect(host.tool('virt-install', ...args)).toMatchObject({ code: 1, stderr: "ERROR    operation failed: Unable to find any firmware to satisfy 'efi'\n" });
    expect(readState(host.dir).machines.some((m) => m.name === 'ha1')).toBe(false);
    // The Debian OVMF package, through the simulated apt-get, installs the firmware descriptor libvirt reads.
    expect(host.tool('apt-get', 'install', '-y', 'ovmf')).toMatchObject({ code: 0, stdout: expect.stringMatching(/Setting up ovmf/) });
    expect(existsSync(join(host.dir, 'root/usr/share/qemu/firmware/60-edk2-x86_64.json'))).toBe(true);
    expect(host.tool('virt-install', ...args)).toMatchObject({ code: 0 });
    expect(readState(host.dir).machines.find((m) => m.name === 'ha1')).toMatchObject({ firmware: 'efi', nvram: '/var/lib/libvirt/qemu/nvram/ha1_VARS.fd' });
    const xml = host.tool('virsh', 'dumpxml', 'ha1').stdout as string;
    expect(xml).toMatch(/<os firmware='efi'>/);
    expect(xml).toMatch(/<loader readonly='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd<\/loader>/);
    expect(host.tool('virsh', 'destroy', 'ha1')).toMatchObject({ code: 0 });
    expect(host.tool('virsh', 'undefine', 'ha1')).toMatchObject({ code: 1, stderr: "error: Failed to undefine domain 'ha1'\nerror: Requested operation is not valid: cannot undefine domain with nvram\n" });
    expect(host.tool('virsh', 'undefine', 'ha1', '--nvram')).toMatchObject({ code: 0, stdout: "Domain 'ha1' has been undefined\n\n" });
    // Without --boot uefi a domain is BIOS, whatever firmware is installed.
    expect(host.tool('virt-install', ...args.slice(0, -3), '--noautoconsole')).toMatchObject({ code: 0 });
    expect(host.tool('virsh', 'dumpxml', 'ha1').stdout).toMatch(/<os>\n/);
    expect(host.tool('virsh', 'destroy', 'ha1')).toMatchObject({ code: 0 });
    expect(host.tool('virsh', 'undefine', 'ha1', '--nvram')).toMatchObject({ code: 0 });
  });

  it('finds the keys of every ssh_authorized_keys list, quoted or not, and nothing else', () => {
    expect(userDataKeys(`#cloud-config\nusers:\n  - name: a\n    ssh_authorized_keys:\n      - ${KEY}\n      - "${KEY.replace('web1', 'two')}"\n    shell: /bin/bash\nwrite_files:\n  - content: "${KEY.replace('web1', 'not-a-key-list')}"\n`)).toEqual([KEY, KEY.replace('web1', 'two')]);
  });
});

describe('simulated vmd guests', () => {
  const host = simHost('vmm');
  beforeAll(() => updateState(host.dir, (s) => (s.services.vmd = { enabled: true, running: true })));
  afterAll(() => host.cleanup());

  /** The tool through its executable, asynchronously: the simulated installer fetches from this process's HTTP server. */
  async function binTool(name: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, SYSFLEET_SIM_STATE: host.dir, SYSFLEET_HOST_ROOT: join(host.dir, 'root'), ...extraEnv };
    return new Promise((done) => {
      execFile(join(simBinDir('openbsd'), name), args, { env, cwd: host.dir }, (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });
  }

  /** An HTTP server standing for the agent's autoinstall server: serves /install.conf only and records every path asked for. */
  async function responseServer(body: string): Promise<{ port: number; paths: string[]; close(): Promise<void> }> {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/install.conf') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, paths, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const vmConf = join(host.dir, 'root/etc/vm.conf');
  const stanza = (name: string, disk: string) => `vm "${name}" {\n\tdisable\n\tmemory 512M\n\tdisk "${disk}"\n\tlocal interface\n}\n`;

  it('vmctl create makes a disk once; the installer fetches install.conf over HTTP, authorises its key, halts and is forgotten (not in vm.conf)', async () => {
    const authorized = join(host.dir, 'authorized_keys');
    configureSimulation(host.dir, { guestAuthorizedKeysFile: authorized, guestIp: '127.0.0.9' });
    expect(host.tool('vmctl', 'create', '-s', '2G', 'disk.qcow2')).toMatchObject({ code: 0, stderr: 'vmctl: qcow2 imagefile created\n' });
    expect(host.tool('vmctl', 'create', '-s', '2G', 'disk.qcow2')).toMatchObject({ code: 1, stderr: 'vmctl: could not create disk.qcow2: File exists\n' });
    writeFileSync(join(host.dir, 'install76.img'), 'media');
    const served = await responseServer(`System hostname = bsd1\nPublic ssh key for root account = ${KEY}\n`);
    try {
      const started = await binTool('vmctl', ['start', '-m', '512M', '-L', '-i', '1', '-d', 'install76.img', '-d', 'disk.qcow2', 'bsd1'], { SYSFLEET_VMD_AUTOINSTALL_PORT: String(served.port) });
      expect(started).toMatchObject({ code: 0, stderr: 'vmctl: started vm 1 successfully, tty /dev/ttyp0\n' });
      expect(served.paths).toEqual([expect.stringMatching(/^\/fe:e1:ba:d0:[0-9a-f]{2}:[0-9a-f]{2}-install\.conf$/), '/install.conf']);
    } finally {
      await served.close();
    }
    expect(readFileSync(authorized, 'utf8')).toBe(KEY + '\n');
    expect(host.text(host.tool('vmctl', 'status'))).not.toMatch(/bsd1/);
    expect(host.tool('vmctl', 'start', 'bsd1')).toMatchObject({ code: 1, stderr: 'vmctl: start vm command failed: Invalid argument\n' });
  });

  it('an installer that cannot fetch its response file authorises nothing', async () => {
    const authorized = join(host.dir, 'authorized_keys-none');
    configureSimulation(host.dir, { guestAuthorizedKeysFile: authorized });
    host.tool('vmctl', 'create', '-s', '2G', 'nokey.qcow2');
    const served = await responseServer('unused');
    await served.close();
    const started = await binTool('vmctl', ['start', '-m', '512M', '-L', '-d', 'install76.img', '-d', 'nokey.qcow2', 'nokey'], { SYSFLEET_VMD_AUTOINSTALL_PORT: String(served.port) });
    expect(started.code).toBe(0);
    expect(existsSync(authorized)).toBe(false);
  });

  it('a VM defined in vm.conf stays listed when stopped and starts by name; undefined stopped VMs are forgotten', () => {
    const disk = join(host.dir, 'disk.qcow2');
    mkdirSync(join(host.dir, 'root/etc'), { recursive: true });
    writeFileSync(vmConf, `# operator's own line\n${stanza('bsd1', disk)}`);
    expect(host.tool('vmctl', 'reload')).toMatchObject({ code: 0 });
    expect(host.text(host.tool('vmctl', 'status'))).toMatch(/ {4}1 {5}- {5}1 {4}512M {7}- {7}- {9}root {2}stopped bsd1\n$/);
    expect(host.tool('vmctl', 'start', 'bsd1')).toMatchObject({ code: 0 });
    expect(host.text(host.tool('vmctl', 'status'))).toMatch(/running bsd1\n$/);
    expect(host.text(host.tool('ifconfig', 'tap'))).toMatch(/^tap0: flags=.*\n(\t.*\n)*\tdescription: vm1-if0-bsd1\n/);
    expect(host.text(host.tool('arp', '-an'))).toMatch(/\n127\.0\.0\.9 +fe:e1:ba:d0:[0-9a-f:]{5} +tap0 19m58s\n$/);
    expect(host.tool('vmctl', 'stop', 'bsd1')).toMatchObject({ code: 0, stdout: 'stopping vm bsd1: requested to shutdown vm 1\n' });
    expect(host.text(host.tool('vmctl', 'status'))).toMatch(/stopped bsd1\n$/);

    // Started with bare parameters (not in vm.conf): listed while it runs, forgotten once it stops.
    host.tool('vmctl', 'create', '-s', '1G', 'adhoc.qcow2');
    expect(host.tool('vmctl', 'start', '-m', '256M', '-L', '-d', 'adhoc.qcow2', 'adhoc')).toMatchObject({ code: 0 });
    expect(host.text(host.tool('vmctl', 'status'))).toMatch(/running adhoc\n/);
    expect(host.tool('vmctl', 'stop', '-f', 'adhoc')).toMatchObject({ code: 0 });
    expect(host.text(host.tool('vmctl', 'status'))).not.toMatch(/adhoc/);
    expect(host.tool('vmctl', 'start', 'adhoc')).toMatchObject({ code: 1, stderr: 'vmctl: start vm command failed: Invalid argument\n' });

    // Removing the stanza and reloading forgets the stopped VM.
    writeFileSync(vmConf, "# operator's own line\n");
    expect(host.tool('vmctl', 'reload')).toMatchObject({ code: 0 });
    expect(host.text(host.tool('vmctl', 'status'))).not.toMatch(/bsd1/);
  });

  it('vmd -n accepts vm.conf syntax and rejects what is not; a reload of a bad file fails and keeps what vmd knew', () => {
    const disk = join(host.dir, 'disk.qcow2');
    writeFileSync(join(host.dir, 'good.conf'), `local prefix 100.64.0.0/10\nswitch "sysfleet" {\n\tinterface bridge0\n}\n${stanza('bsd2', disk)}`);
    expect(host.tool('vmd', '-n', '-f', 'good.conf')).toEqual({ stderr: 'configuration OK\n', code: 0 });
    writeFileSync(join(host.dir, 'bad.conf'), `${stanza('bsd2', disk)}vm "x" {\n\tmemory lots\n}\n`);
    expect(host.tool('vmd', '-n', '-f', 'bad.conf')).toEqual({ stderr: 'bad.conf:8: syntax error\n', code: 1 });
    writeFileSync(join(host.dir, 'open.conf'), 'vm "x" {\n\tdisable\n');
    expect(host.tool('vmd', '-n', '-f', 'open.conf').code).toBe(1);

    writeFileSync(vmConf, stanza('bsd2', disk));
    expect(host.tool('vmctl', 'reload').code).toBe(0);
    writeFileSync(vmConf, 'this is not vm.conf\n');
    expect(host.tool('vmctl', 'reload')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^\/etc\/vm\.conf:1: syntax error\n/) });
    expect(host.text(host.tool('vmctl', 'status'))).toMatch(/stopped bsd2\n$/);
  });

  it('makefs makes a cidata seed whose keys the guest takes; vmctl create -b derives a disk from a cloud image', () => {
    const authorized = join(host.dir, 'authorized_keys2');
    configureSimulation(host.dir, { guestAuthorizedKeysFile: authorized });
    mkdirSync(join(host.dir, 'cidata'));
    writeFileSync(join(host.dir, 'cidata/user-data'), `#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys:\n      - "${KEY}"\n`);
    expect(host.tool('makefs', '-t', 'cd9660', '-o', 'label=cidata,rockridge', 'seed.iso', 'cidata')).toMatchObject({ code: 0 });
    expect(readFileSync(authorized, 'utf8')).toBe(KEY + '\n');
    writeFileSync(join(host.dir, 'debian.qcow2'), 'base');
    expect(host.tool('vmctl', 'create', '-b', 'debian.qcow2', '-s', '20G', 'deb.qcow2')).toMatchObject({ code: 0, stderr: 'vmctl: qcow2 imagefile created\n' });
    expect(readFileSync(join(host.dir, 'deb.qcow2'), 'latin1')).toContain(`"backing":"${join(host.dir, 'debian.qcow2')}"`);
  });
});

describe('simulated WSL distributions', () => {
  const host = simHost('wsl');
  beforeAll(() => updateState(host.dir, (s) => (s.wsl.installed = true)));
  afterAll(() => host.cleanup());

  it('installs under a name once, runs commands in the guest dir, terminates and unregisters', () => {
    expect(host.text(host.tool('wsl.exe', '--install', '-d', 'Debian', '--name', 'deb1', '--no-launch'))).toMatch(/Distribution successfully installed/);
    const again = host.tool('wsl.exe', '--install', '-d', 'Debian', '--name', 'deb1', '--no-launch');
    expect(again.code).toBe(1);
    expect(host.text(again)).toMatch(/ERROR_ALREADY_EXISTS/);
    const run = host.tool('wsl.exe', '-d', 'deb1', '-u', 'root', '--', 'sh', '-c', 'pwd; echo -v; exit 3');
    expect(run.code).toBe(3);
    expect(String(run.stdout)).toBe(`${join(host.dir, 'guests', 'deb1')}\n-v\n`);
    expect(host.text(host.tool('wsl.exe', '-l', '-v'))).toMatch(/\* deb1 +Running +2\r\n$/);
    expect(host.tool('wsl.exe', '--terminate', 'deb1').code).toBe(0);
    expect(host.text(host.tool('wsl.exe', '-l', '-v'))).toMatch(/\* deb1 +Stopped +2\r\n$/);
    expect(host.tool('wsl.exe', '--unregister', 'deb1').code).toBe(0);
    expect(host.text(host.tool('wsl.exe', '--unregister', 'deb1'))).toMatch(/WSL_E_DISTRO_NOT_FOUND/);
  });
});
