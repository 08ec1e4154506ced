import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ToolImpl, ToolOutput } from '../cli';
import { SimConfig, SimState, updateState } from '../state';

/**
 * Guest creation on the simulated KVM host: qemu-img, cloud-localds and virt-install. Disk images are
 * small files that stand for the real ones (a qcow2 is "QFI\xfb" followed by a JSON header holding
 * its virtual size and backing file), so `qemu-img info`, resizing and deleting behave as on a host.
 */

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

interface SimImage {
  format: 'qcow2';
  virtualSize: number;
  backing?: string;
  backingFormat?: string;
}

const ok = (stdout = ''): ToolOutput => ({ stdout, code: 0 });

/** qemu's size suffixes (powers of 1024); "+N" / "-N" are relative (resize). */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([bkKMGTP]?)$/.exec(text);
  if (!m) return null;
  const power = { '': 0, b: 0, k: 1, K: 1, M: 2, G: 3, T: 4, P: 5 }[m[2]] ?? 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

function readImage(path: string): SimImage | null {
  const bytes = readFileSync(path);
  if (bytes.length < 5 || !bytes.subarray(0, 4).equals(QCOW2_MAGIC)) return null;
  try {
    return JSON.parse(bytes.subarray(4).toString('utf8')) as SimImage;
  } catch {
    return null;
  }
}

function writeImage(path: string, image: SimImage): void {
  writeFileSync(path, Buffer.concat([QCOW2_MAGIC, Buffer.from(JSON.stringify(image) + '\n')]));
}

/** A raw file's virtual size is its length. */
function virtualSize(path: string): number {
  return readImage(path)?.virtualSize ?? statSync(path).size;
}

function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '')} ${units[u]}`;
}

/** Value of `-x VALUE` in args. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Positional arguments: those that are neither flags nor the value of a flag in `withValue`. */
function positionals(args: string[], withValue: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (withValue.includes(args[i])) i++;
    else if (!args[i].startsWith('-') || /^[+-]\d/.test(args[i])) out.push(args[i]);
  }
  return out;
}

const qemuImg: ToolImpl = (call) => {
  const [sub, ...args] = call.args;
  if (sub === '--version' || call.args.includes('--version')) {
    return ok('qemu-img version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n');
  }
  const at = (p: string) => resolve(call.cwd, p);
  if (sub === 'create') {
    const fmt = flag(args, '-f') ?? 'raw';
    const backing = flag(args, '-b');
    const backingFmt = flag(args, '-F');
    const [file, sizeText] = positionals(args, ['-f', '-b', '-F', '-o']);
    if (!file) return { stderr: 'qemu-img: Expecting image file name\n', code: 1 };
    if (fmt !== 'qcow2') return { stderr: `qemu-img: host-sim only makes qcow2 images, not ${fmt}\n`, code: 1 };
    if (backing && !backingFmt) return { stderr: `qemu-img: ${file}: Backing file specified without backing format\n`, code: 1 };
    if (backing && !existsSync(at(backing))) return { stderr: `qemu-img: ${file}: Could not open '${backing}': No such file or directory\n`, code: 1 };
    const size = sizeText !== undefined ? parseSize(sizeText) : backing ? virtualSize(at(backing)) : null;
    if (size === null) return { stderr: sizeText !== undefined ? `qemu-img: Invalid image size specified. You may use k, M, G, T, P or E suffixes for\nqemu-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n` : 'qemu-img: Image creation needs a size parameter\n', code: 1 };
    if (!existsSync(dirname(at(file)))) return { stderr: `qemu-img: ${file}: Could not create '${file}': No such file or directory\n`, code: 1 };
    writeImage(at(file), { format: 'qcow2', virtualSize: size, ...(backing ? { backing, backingFormat: backingFmt } : {}) });
    const backingText = backing ? ` backing_file=${backing} backing_fmt=${backingFmt}` : '';
    return ok(`Formatting '${file}', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=${size}${backingText} lazy_refcounts=off refcount_bits=16\n`);
  }
  if (sub === 'resize') {
    const [file, sizeText] = positionals(args, ['-f']);
    if (!file || !sizeText) return { stderr: "qemu-img: Expecting image file name and size\n", code: 1 };
    if (!existsSync(at(file))) return { stderr: `qemu-img: Could not open '${file}': Could not open '${file}': No such file or directory\n`, code: 1 };
    const image = readImage(at(file));
    if (!image) return { stderr: `qemu-img: host-sim resizes only its qcow2 images\n`, code: 1 };
    const relative = /^[+-]/.test(sizeText) ? sizeText[0] : '';
    const amount = parseSize(relative ? sizeText.slice(1) : sizeText);
    if (amount === null) return { stderr: 'qemu-img: Invalid image size specified. You may use k, M, G, T, P or E suffixes for\nqemu-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n', code: 1 };
    const next = relative === '+' ? image.virtualSize + amount : relative === '-' ? image.virtualSize - amount : amount;
    if (next < image.virtualSize && !args.includes('--shrink')) return { stderr: 'qemu-img: Use the --shrink option to perform a shrink operation.\nqemu-img: warning: Shrinking an image will delete all data beyond the shrunken image\'s end. Before performing such an operation, make sure there is no important data there.\n', code: 1 };
    writeImage(at(file), { ...image, virtualSize: next });
    return ok('Image resized.\n');
  }
  if (sub === 'info') {
    const [file] = positionals(args, ['-f', '--output']);
    if (!file || !existsSync(at(file))) return { stderr: `qemu-img: Could not open '${file ?? ''}': Could not open '${file ?? ''}': No such file or directory\n`, code: 1 };
    const image = readImage(at(file));
    const size = statSync(at(file)).size;
    if (!image) return ok(`image: ${file}\nfile format: raw\nvirtual size: ${humanSize(size)} (${size} bytes)\ndisk size: ${humanSize(size)}\n`);
    const backing = image.backing ? `backing file: ${image.backing}\nbacking file format: ${image.backingFormat}\n` : '';
    return ok(
      `image: ${file}\nfile format: qcow2\nvirtual size: ${humanSize(image.virtualSize)} (${image.virtualSize} bytes)\ndisk size: 196 KiB\ncluster_size: 65536\n${backing}` +
        'Format specific information:\n    compat: 1.1\n    compression type: zlib\n    lazy refcounts: false\n    refcount bits: 16\n    corrupt: false\n    extended l2: false\n',
    );
  }
  return { stderr: `qemu-img: Command not found: ${sub ?? ''}\n`, code: 1 };
};

const KEY_LINE = /(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}( [^\r\n"]{1,200})?/;

/** Writes keys into the guest's authorized_keys stand-in (sim config guestAuthorizedKeysFile), once each. */
export function authorizeGuestKeys(config: SimConfig, keys: string[]): void {
  const file = config.guestAuthorizedKeysFile;
  if (!file || keys.length === 0) return;
  const have = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  const add = keys.filter((k) => !have.includes(k));
  if (add.length) appendFileSync(file, add.map((k) => k + '\n').join(''), { mode: 0o600 });
}

/** The `ssh_authorized_keys` list items of a cloud-config user-data file. */
export function userDataKeys(userData: string): string[] {
  const keys: string[] = [];
  let inList = false;
  let listIndent = -1;
  for (const line of userData.split('\n')) {
    const key = /^(\s*)(- )?ssh_authorized_keys:\s*$/.exec(line);
    if (key) {
      inList = true;
      listIndent = key[1].length + (key[2] ? 2 : 0);
      continue;
    }
    if (!inList) continue;
    const item = /^(\s*)- (.*)$/.exec(line);
    if (!item || item[1].length < listIndent) {
      inList = false;
      continue;
    }
    const m = KEY_LINE.exec(item[2].replace(/^"|"$/g, ''));
    if (m) keys.push(m[0]);
  }
  return keys;
}

/** cloud-localds OUTPUT USER-DATA [META-DATA]: writes the seed; the simulated guest's cloud-init will take its keys. */
const cloudLocalds: ToolImpl = (call) => {
  if (call.args.includes('--version')) return ok('cloud-localds 0.33\n');
  const [output, userData, metaData] = call.args.filter((a) => !a.startsWith('-'));
  if (!output || !userData) return { stderr: 'Usage: cloud-localds [ options ] output user-data [meta-data]\n', code: 1 };
  const at = (p: string) => resolve(call.cwd, p);
  for (const f of [userData, metaData]) if (f && !existsSync(at(f))) return { stderr: `cloud-localds: ${f}: not a file\n`, code: 1 };
  const text = readFileSync(at(userData), 'utf8');
  if (!/^#cloud-config\s*\n/.test(text)) return { stderr: `cloud-localds: ${userData} is not #cloud-config user-data (host-sim reads only that format)\n`, code: 1 };
  writeFileSync(at(output), Buffer.concat([Buffer.from('CD001 cidata (host-sim seed)\n'), readFileSync(at(userData)), metaData ? readFileSync(at(metaData)) : Buffer.alloc(0)]));
  authorizeGuestKeys(call.config, userDataKeys(text));
  return ok();
};

/** `--opt value` or `--opt=value`, every occurrence. */
function options(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && args[i + 1] !== undefined) out.push(args[++i]);
    else if (args[i].startsWith(name + '=')) out.push(args[i].slice(name.length + 1));
  }
  return out;
}

/** "a=1,b=2" or "/path,b=2" (the first bare item is `bare`). */
function keyValues(text: string, bare: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) out[bare] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function randomMac(): string {
  return '52:54:00:' + [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

const ERR = (message: string): ToolOutput => ({ stderr: `ERROR    ${message}\n`, code: 1 });

/**
 * Where QEMU firmware descriptors live: libvirt picks a UEFI build for `<os firmware='efi'>` (virt-install
 * --boot uefi) from the JSON files here, which each distribution's OVMF package installs (ovmf, edk2-ovmf,
 * qemu-ovmf-x86_64). The simulated OVMF packages write one; without it UEFI guests cannot be defined.
 */
export const FIRMWARE_DESCRIPTOR_DIR = '/usr/share/qemu/firmware';
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** What an OVMF package installs, in the simulated host's file system. */
export function installOvmfDescriptor(hostRoot: string): void {
  const dir = join(hostRoot, FIRMWARE_DESCRIPTOR_DIR);
  mkdirSync(dir, { recursive: true });
  const descriptor = {
    description: 'UEFI firmware for x86_64 (host-sim)',
    'interface-types': ['uefi'],
    mapping: { device: 'flash', executable: { filename: OVMF_CODE, format: 'raw' }, 'nvram-template': { filename: OVMF_VARS, format: 'raw' } },
    targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
    features: ['acpi-s3', 'verbose-dynamic'],
    tags: [],
  };
  writeFileSync(join(dir, '60-edk2-x86_64.json'), JSON.stringify(descriptor, null, 4) + '\n');
}

/** The UEFI firmware libvirt would find: the code file of the first descriptor offering the uefi interface. */
function uefiFirmware(hostRoot: string): { code: string; vars: string } | null {
  const dir = join(hostRoot, FIRMWARE_DESCRIPTOR_DIR);
  if (!existsSync(dir)) return null;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    try {
      const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { 'interface-types'?: string[]; mapping?: { executable?: { filename?: string }; 'nvram-template'?: { filename?: string } } };
      if (d['interface-types']?.includes('uefi') && d.mapping?.executable?.filename) return { code: d.mapping.executable.filename, vars: d.mapping['nvram-template']?.filename ?? '' };
    } catch {
      // libvirt skips a descriptor it cannot parse.
    }
  }
  return null;
}

/** `--boot` asks for UEFI: `uefi` among its items, or `firmware=efi`. Other items (hd, cdrom, menu=on...) choose boot devices. */
function wantsUefi(bootOptions: string[]): boolean {
  return bootOptions.some((b) => b.split(',').some((item) => item === 'uefi' || item === 'firmware=efi'));
}

/** virt-install --import: defines the domain and starts it (a cloud image boots straight from its disk; `--boot uefi` with OVMF). */
const virtInstall: ToolImpl = (call) => {
  const args = call.args;
  if (args.includes('--version')) return ok('4.1.0\n');
  const name = options(args, '--name')[0];
  if (!name) return ERR('--name is required');
  if (!args.includes('--import') && options(args, '--cdrom').length === 0 && options(args, '--location').length === 0) return ERR('An install method must be specified\n(use --location URL, --cdrom CD/ISO, --pxe, --import, --boot hd|cdrom|...)');
  const memoryText = options(args, '--memory')[0] ?? options(args, '--ram')[0];
  const memory = memoryText ? Number(keyValues(memoryText, 'memory').memory) : NaN;
  const vcpusText = options(args, '--vcpus')[0];
  const vcpus = vcpusText ? Number(keyValues(vcpusText, 'vcpus').vcpus) : 1;
  if (!Number.isInteger(memory) || memory < 1) return ERR(`--memory ${memoryText ?? ''}: expected a number of MiB`);
  if (!Number.isInteger(vcpus) || vcpus < 1) return ERR(`--vcpus ${vcpusText ?? ''}: expected a number`);
  const disks: string[] = [];
  for (const d of options(args, '--disk')) {
    const kv = keyValues(d, 'path');
    const path = kv.path ? resolve(call.cwd, kv.path) : undefined;
    if (!path) return ERR(`--disk ${d}: no path`);
    if (!existsSync(path)) return ERR(`Error: --disk ${d}: Size must be specified for non existent volumes`);
    if ((kv.device ?? 'disk') === 'disk') disks.push(path);
  }
  if (disks.length === 0) return ERR('--import needs a --disk to boot from');
  const net = keyValues(options(args, '--network')[0] ?? 'network=default', 'network');
  const uefi = wantsUefi(options(args, '--boot'));
  const firmware = uefi ? uefiFirmware(call.hostRoot) : null;
  return updateState(call.stateDir, (state: SimState): ToolOutput => {
    if (!state.services.libvirtd?.running) return ERR("Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory");
    if (state.machines.some((m) => m.name === name)) return ERR(`Guest name '${name}' is already in use.`);
    if (net.network && !state.networks.some((n) => n.name === net.network && n.active)) {
      return ERR(state.networks.some((n) => n.name === net.network) ? `Requested operation is not valid: network '${net.network}' is not active` : `Network not found: no network with matching name '${net.network}'`);
    }
    if (net.bridge && !state.interfaces[net.bridge]) return ERR(`Cannot get interface MTU on '${net.bridge}': No such device`);
    // libvirt's firmware autoselection finds no descriptor offering UEFI (no OVMF package installed).
    if (uefi && !firmware) return ERR("operation failed: Unable to find any firmware to satisfy 'efi'");
    state.machines.push({
      name, uuid: randomUUID(), id: state.nextId++, state: 'running', vcpus, memoryKiB: memory * 1024,
      diskPath: disks[0], diskBytes: virtualSize(disks[0]), disks, mac: randomMac(), network: net.network ?? `bridge:${net.bridge}`, autostart: false,
      firmware: firmware ? 'efi' : 'bios',
      ...(firmware && { loader: firmware.code, nvram: `/var/lib/libvirt/qemu/nvram/${name}_VARS.fd`, nvramTemplate: firmware.vars }),
    });
    return ok('\nStarting install...\nCreating domain...                                                  |    0 B  00:00:00     \nDomain creation completed.\n');
  });
};

export const GUEST_TOOLS: Record<string, ToolImpl> = { 'qemu-img': qemuImg, 'cloud-localds': cloudLocalds, 'virt-install': virtInstall };
