import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { JobContext, StepError } from '../../jobs/handler';
import { tail } from '../../run';
import { HostTools, hostPath, markedBlock, progress, replaceMarkedBlock } from '../host';

/**
 * The sysfleet block of /etc/vm.conf holds two things: the network set-up (a "# network:" comment and
 * maybe a switch, written by configure-network) first, then one `vm "NAME" { ... }` stanza per child.
 * vmd forgets a VM that vm.conf does not define once it stops, so every child is defined here.
 */

/** Default subnet of the routed network (vether0 holds .1; guests are NATed out through pf). */
export const DEFAULT_ROUTED_SUBNET = '10.42.0.0/24';
/** The vmd switch configure-network defines for the bridged and routed modes (on bridge0). */
export const VMD_SWITCH = 'sysfleet';

export type VmdNetworkConfig = { mode: 'local' } | { mode: 'bridged'; interface: string } | { mode: 'routed'; subnet: string };

/** What the managed vm.conf block says; absent means vmd's default, local interfaces (-L). */
export function readVmConfNetwork(vmConf: string | null): VmdNetworkConfig {
  const block = vmConf === null ? null : markedBlock(vmConf);
  const mode = block && /^# network: (local|bridged|routed)(?: (\S+))?$/m.exec(block);
  if (!mode || mode[1] === 'local') return { mode: 'local' };
  if (mode[1] === 'bridged') return { mode: 'bridged', interface: mode[2] ?? '' };
  return { mode: 'routed', subnet: mode[2] ?? DEFAULT_ROUTED_SUBNET };
}

/** The vmd switch a new child's interface joins under this network set-up; undefined: a local interface. */
export function childSwitch(network: VmdNetworkConfig): string | undefined {
  return network.mode === 'local' ? undefined : VMD_SWITCH;
}

export interface VmDefinition {
  name: string;
  memoryMb: number;
  disk: string;
  /** Attached as the VM's CD-ROM (a cloud image's cidata seed). */
  cdrom?: string;
  /** The vmd switch its interface joins (bridged / routed host networks); absent: a vmd local interface. */
  switch?: string;
}

/** Paths go into vm.conf inside double quotes: nothing that could end the string or the line. */
function quotedPath(path: string): string {
  if (!/^\/[A-Za-z0-9_./+:-]+$/.test(path)) throw new StepError('vm-conf', `path ${JSON.stringify(path.slice(0, 200))} cannot be written to vm.conf (only letters, digits and _./+:- allowed)`);
  return `"${path}"`;
}

/**
 * One vm.conf(5) stanza. `disable`: vmd does not boot it by itself (at vmd start or `vmctl reload`); the agent starts it.
 * Its one interface is a vmd local interface, or on `switch` (vm.conf(5): `interface { switch "name" }`).
 */
export function renderVmStanza(vm: VmDefinition): string {
  const lines = [`vm "${vm.name}" {`, '\tdisable', `\tmemory ${vm.memoryMb}M`, `\tdisk ${quotedPath(vm.disk)}`];
  if (vm.cdrom) lines.push(`\tcdrom ${quotedPath(vm.cdrom)}`);
  if (vm.switch !== undefined) {
    if (!/^[A-Za-z0-9_.-]+$/.test(vm.switch)) throw new StepError('vm-conf', `switch name ${JSON.stringify(vm.switch.slice(0, 200))} cannot be written to vm.conf`);
    lines.push('\tinterface {', `\t\tswitch "${vm.switch}"`, '\t}');
  } else lines.push('\tlocal interface');
  lines.push('}');
  return lines.join('\n') + '\n';
}

const STANZA_START = /^vm "([^"]+)" \{$/;

/** The block's body split into its network part and its VM stanzas (by name, in file order). */
export function splitSysfleetBlock(body: string | null): { network: string; vms: Map<string, string> } {
  const vms = new Map<string, string>();
  let network = '';
  const lines = (body ?? '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const start = STANZA_START.exec(lines[i]);
    if (!start) {
      network += lines[i] + '\n';
      continue;
    }
    const end = lines.indexOf('}', i);
    if (end < 0) throw new StepError('vm-conf', `the sysfleet block of vm.conf has an unterminated stanza for ${start[1]}: fix the file by hand first`);
    vms.set(start[1], lines.slice(i, end + 1).join('\n') + '\n');
    i = end;
  }
  return { network, vms };
}

function joinBlock(network: string, vms: Map<string, string>): string | null {
  const body = network + [...vms.values()].join('');
  return body === '' ? null : body;
}

/** vm.conf's text with the VM's stanza set (or removed, `stanza` null); everything outside the block byte-identical. */
export function vmConfWithVm(text: string, name: string, stanza: string | null): string {
  const { network, vms } = splitSysfleetBlock(markedBlock(text));
  if (stanza === null) vms.delete(name);
  else vms.set(name, stanza);
  return replaceMarkedBlock(text, joinBlock(network, vms));
}

/** vm.conf's text with the network part of the block replaced (null: removed); the VM stanzas are kept. */
export function vmConfWithNetwork(text: string, network: string | null): string {
  const { vms } = splitSysfleetBlock(markedBlock(text));
  return replaceMarkedBlock(text, joinBlock(network ?? '', vms));
}

/** The names the block defines. */
export function definedVms(text: string | null): string[] {
  return text === null ? [] : [...splitSysfleetBlock(markedBlock(text)).vms.keys()];
}

/** /etc/vm.conf under SYSFLEET_HOST_ROOT: changed only after `vmd -n -f` accepted the new text. */
export class VmConf {
  constructor(private readonly tools: HostTools, private readonly env: NodeJS.ProcessEnv) {}

  get path(): string {
    return hostPath('/etc/vm.conf', this.env);
  }

  async read(): Promise<string> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new StepError('vm-conf', `cannot read /etc/vm.conf: ${(e as Error).message}`);
    }
  }

  /**
   * Applies `change` to vm.conf's text; a changed text is checked with `vmd -n -f` on a temp copy and
   * only then renamed over vm.conf. Returns whether the file changed. A refused text leaves vm.conf as it was.
   */
  async update(step: string, change: (text: string) => string, signal?: AbortSignal): Promise<boolean> {
    const before = await this.read();
    const after = change(before);
    if (after === before) return false;
    const tmp = `${this.path}.sysfleet.tmp`;
    await writeFile(tmp, after, { mode: 0o644 });
    try {
      const check = await this.tools.probe('vmd', ['-n', '-f', tmp], { signal });
      if (!check || check.code !== 0) throw new StepError(step, `vmd -n refused the new vm.conf; /etc/vm.conf left unchanged: ${tail(check ? check.stderr || check.stdout : 'vmd is not installed', 1500)}`);
      await rename(tmp, this.path);
    } finally {
      await rm(tmp, { force: true });
    }
    return true;
  }

  /** Sets or removes one VM's stanza and has vmd re-read vm.conf when it changed. */
  async defineVm(ctx: JobContext, step: string, name: string, vm: VmDefinition | null): Promise<void> {
    const changed = await this.update(step, (text) => vmConfWithVm(text, name, vm ? renderVmStanza(vm) : null), ctx.signal);
    if (changed) await this.tools.step(step, 'vmctl', ['reload'], { signal: ctx.signal });
    await progress(ctx, step, vm ? `vm.conf defines ${name}${changed ? '; vmd reloaded' : ' already'}` : `vm.conf no longer defines ${name}`, vm ? 44 : 70);
  }

  /** A create's rollback: no progress and no job signal (it runs after a cancellation too). */
  async undefineVm(name: string): Promise<void> {
    if (await this.update('cleanup', (text) => vmConfWithVm(text, name, null))) await this.tools.step('cleanup', 'vmctl', ['reload']);
  }
}
