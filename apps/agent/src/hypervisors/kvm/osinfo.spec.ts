import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { configureSimulation, readSimCalls, readSimState } from '@sysfleet/host-sim';
import { ChildCreateParams, parsePayload } from '@sysfleet/protocol';
import type { RunOptions, RunResult } from '../../run';
import { createChildHandlers } from '../handlers';
import { HostTools } from '../host';
import { markKvmInitialised, recordingContext, serveImage, simulatedHost } from '../testing';
import { parseOsinfoShortIds, resolveOsinfo } from './kvm.children';

// Each simulated tool call is a node process.
jest.setTimeout(90_000);

/** `osinfo-query os short-id=<id>` as libosinfo-bin prints it: a table, empty below the separator when nothing matches. */
function table(rows: [string, string, string][]): string {
  const head = ' Short ID             | Name                                               | Version  | ID                                       \n'
    + '----------------------+----------------------------------------------------+----------+-----------------------------------------\n';
  return head + rows.map(([id, name, version]) => ` ${id.padEnd(20)} | ${name.padEnd(50)} | ${version.padEnd(8)} | http://example.org/${id}\n`).join('');
}

/** HostTools whose osinfo-query answers from a fixed osinfo-db (or is missing / broken); records every call. */
class StubTools extends HostTools {
  readonly calls: string[] = [];
  constructor(private readonly db: string[] | 'missing' | 'broken') {
    super({});
  }
  override async probe(command: string, args: string[], _opts: RunOptions = {}): Promise<RunResult | null> {
    this.calls.push([command, ...args].join(' '));
    if (command !== 'osinfo-query') throw new Error(`unexpected ${command}`);
    if (this.db === 'missing') return null;
    const result = (code: number, stdout: string, stderr = ''): RunResult => ({ command, args, code, stdout, stderr, stdoutBytes: Buffer.from(stdout), timedOut: false });
    if (this.db === 'broken') return result(1, '', 'Error loading OS data: Unable to find osinfo-db\n');
    const id = /^short-id=(.+)$/.exec(args[1])?.[1];
    return result(0, table(this.db.filter((x) => x === id).map((x) => [x, `OS ${x}`, '1'])));
  }
}

describe('parseOsinfoShortIds', () => {
  it('reads the short IDs below the separator, and none from an empty table or stray text', () => {
    expect(parseOsinfoShortIds(table([['ubuntu24.04', 'Ubuntu 24.04 LTS', '24.04'], ['debian12', 'Debian 12', '12']]))).toEqual(['ubuntu24.04', 'debian12']);
    expect(parseOsinfoShortIds(table([]))).toEqual([]);
    expect(parseOsinfoShortIds('Error loading OS data\n')).toEqual([]);
  });
});

describe('resolveOsinfo (the --osinfo given to virt-install)', () => {
  it('keeps an id the host knows, with nothing to report', async () => {
    const tools = new StubTools(['debian12', 'linux2022']);
    const ctx = recordingContext();
    expect(await resolveOsinfo(tools, 'debian12', ctx)).toBe('debian12');
    expect(tools.calls).toEqual(['osinfo-query os short-id=debian12']);
    expect(ctx.steps).toEqual([]);
  });

  it('falls back to linux2022 when an older osinfo-db does not know the id (ubuntu24.04 on Debian 12), and says so', async () => {
    const tools = new StubTools(['debian12', 'ubuntu22.04', 'linux2022']);
    const ctx = recordingContext();
    expect(await resolveOsinfo(tools, 'ubuntu24.04', ctx)).toBe('linux2022');
    expect(tools.calls).toEqual(['osinfo-query os short-id=ubuntu24.04', 'osinfo-query os short-id=linux2022']);
    expect(ctx.steps).toEqual([{
      step: 'define',
      message: "this host's osinfo-db does not know ubuntu24.04 (osinfo-query os short-id=ubuntu24.04 lists nothing): using --osinfo linux2022 instead; a newer osinfo-db gives the exact profile",
      percent: 33,
    }]);
  });

  it('falls back to generic when the db knows neither the id nor linux2022', async () => {
    const tools = new StubTools(['debian11', 'linux2020']);
    const ctx = recordingContext();
    expect(await resolveOsinfo(tools, 'alpinelinux3.20', ctx)).toBe('generic');
    expect(ctx.steps.map((s) => s.message)).toEqual([expect.stringMatching(/does not know alpinelinux3\.20 .*: using --osinfo generic instead/)]);
  });

  it('passes the id unchecked, saying why, when osinfo-query is missing or fails', async () => {
    const missing = recordingContext();
    expect(await resolveOsinfo(new StubTools('missing'), 'ubuntu24.04', missing)).toBe('ubuntu24.04');
    expect(missing.steps.map((s) => s.message)).toEqual(['osinfo-query is not installed: passing --osinfo ubuntu24.04 to virt-install unchecked']);
    const broken = recordingContext();
    expect(await resolveOsinfo(new StubTools('broken'), 'ubuntu24.04', broken)).toBe('ubuntu24.04');
    expect(broken.steps.map((s) => s.message)).toEqual([
      'osinfo-query os short-id=ubuntu24.04 exited with 1: Error loading OS data: Unable to find osinfo-db: passing --osinfo ubuntu24.04 to virt-install unchecked',
    ]);
  });

  it('does not look up generic, which virt-install always takes (appliances)', async () => {
    const tools = new StubTools([]);
    expect(await resolveOsinfo(tools, 'generic', recordingContext())).toBe('generic');
    expect(tools.calls).toEqual([]);
  });
});

/**
 * A create on a simulated KVM host, with an osinfo-query (a shell script on PATH, run through run.ts
 * like every tool) from an older host's libosinfo: it knows linux2022 but not ubuntu24.04. The host
 * simulator has no osinfo-query of its own, which the e2e tests cover (the id goes unchecked).
 */
describe('KVM create with an osinfo-db older than the distribution', () => {
  const host = simulatedHost('kvm');
  const stateDir = mkdtempSync(join(tmpdir(), 'sysfleet-agent-state-'));
  const bin = mkdtempSync(join(tmpdir(), 'sysfleet-osinfo-'));
  const IMAGE = Buffer.from('QFI\xfb{"format":"qcow2","virtualSize":1073741824}\n', 'latin1');
  let image: { url: string; close(): void };
  let imageUrl: string;

  beforeAll(async () => {
    const script = join(bin, 'osinfo-query');
    writeFileSync(script, `#!/bin/sh
printf ' Short ID | Name | Version | ID\\n----------+------+---------+----\\n'
[ "$1 $2" = "os short-id=linux2022" ] && printf ' linux2022 | Generic Linux 2022 | 2022 | http://libosinfo.org/linux/2022\\n'
exit 0
`);
    chmodSync(script, 0o755);
    configureSimulation(host.stateDir, { recordCalls: true });
    markKvmInitialised(host.stateDir);
    image = await serveImage(IMAGE, 'noble.qcow2');
    imageUrl = image.url;
  });
  afterAll(() => {
    image.close();
    host.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(bin, { recursive: true, force: true });
  });

  it('defines the domain with --osinfo linux2022 and says why in the define step', async () => {
    const env = { ...host.processEnv, PATH: [bin, host.processEnv.PATH].join(delimiter) };
    const create = createChildHandlers({ stateDir }, env).find((h) => h.command === 'child.create')!;
    const p = parsePayload(ChildCreateParams, {
      childType: 'kvm', name: 'noble1', hostname: 'noble1', vcpus: 1, memoryMb: 1024, diskGb: 8, username: 'ops', sshPublicKeys: [], keepOnFailure: false, agentInstall: null,
      distribution: { name: 'ubuntu', version: '24.04', installIdentifier: 'ubuntu24.04', imageUrl, sha256: createHash('sha256').update(IMAGE).digest('hex'), appliance: true, installCommands: [] },
    });
    if (!p.ok) throw new Error(p.error);
    const ctx = recordingContext();
    await create.run(p.value, ctx);
    const define = ctx.steps.filter((s) => s.step === 'define').map((s) => s.message);
    expect(define[0]).toBe("this host's osinfo-db does not know ubuntu24.04 (osinfo-query os short-id=ubuntu24.04 lists nothing): using --osinfo linux2022 instead; a newer osinfo-db gives the exact profile");
    const args = readSimCalls(host.stateDir).filter((c) => c.tool === 'virt-install' && c.args.includes('--import')).at(-1)!.args;
    expect(args[args.indexOf('--osinfo') + 1]).toBe('linux2022');
    expect(readSimState(host.stateDir).machines.find((m) => m.name === 'noble1')?.state).toBe('running');
  });
});
