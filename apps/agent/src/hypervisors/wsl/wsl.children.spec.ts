import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildCreateParams } from '@sysfleet/protocol';
import { StepError } from '../../jobs/handler';
import type { RunOptions, RunResult } from '../../run';
import type { HostTools } from '../host';
import { recordingContext } from '../testing';
import { WslChildren } from './wsl.children';

const HASH = `$6$saltsaltsalt$${'h'.repeat(86)}`;
const TOKEN = `sfe_${'t'.repeat(43)}`;
const utf16 = (text: string) => Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le');

/**
 * wsl.exe as a table: `-l -v` lists what --install registered; commands run "in the guest" answer
 * from `guest` (by the sh -c text, or useradd); every call is recorded.
 */
function fakeWsl(guest: (args: string[]) => { code: number; stdout?: string; stderr?: string }) {
  const registered: string[] = [];
  const calls: string[][] = [];
  const result = (args: string[], code: number, stdoutBytes: Buffer, stderr = ''): RunResult => ({ command: 'wsl.exe', args, code, stdout: '', stderr, stdoutBytes, timedOut: false });
  const tools = {
    probe: async (command: string, args: string[], _opts?: RunOptions): Promise<RunResult | null> => {
      expect(command).toBe('wsl.exe');
      calls.push(args);
      if (args[0] === '-l') {
        return result(args, 0, utf16(['  NAME            STATE           VERSION', ...registered.map((n) => `  ${n}    Stopped         2`), ''].join('\n')));
      }
      if (args[0] === '--install') {
        registered.push(args[args.indexOf('--name') + 1]);
        return result(args, 0, utf16('The operation completed successfully.\n'));
      }
      if (args[0] === '--unregister') {
        registered.splice(registered.indexOf(args[1]), 1);
        return result(args, 0, utf16('The operation completed successfully.\n'));
      }
      const sep = args.indexOf('--');
      const r = guest(args.slice(sep + 1));
      return result(args, r.code, Buffer.from(r.stdout ?? '', 'utf8'), r.stderr ?? '');
    },
  };
  return { tools: tools as unknown as HostTools, calls, registered };
}

function params(over: Partial<ChildCreateParams> = {}): ChildCreateParams {
  return {
    childType: 'wsl', name: 'dev1', hostname: 'dev1', vcpus: 1, memoryMb: 512, diskGb: 4, username: 'ops', passwordHash: HASH, sshPublicKeys: [],
    distribution: {
      name: 'debian', version: '12', installIdentifier: 'Debian', appliance: false,
      installCommands: ['apt-get install -y nodejs', `printf '%s' '${TOKEN}' > /etc/sysfleet-token && echo token written`],
    },
    agentInstall: { serverUrl: 'https://fleet.example', enrollmentToken: TOKEN, agentSha256: 'a'.repeat(64) },
    keepOnFailure: false,
    ...over,
  } as ChildCreateParams;
}

describe('WslChildren.create reporting', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(join(tmpdir(), 'sf-wsl-children-'))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));
  const env = () => ({ SYSFLEET_WSL_VM_DIR: join(stateDir, 'vms') });

  it("reports each install command's exit status and output tail on success, with the token masked", async () => {
    const wsl = fakeWsl((cmd) => {
      if (cmd[0] === 'useradd') return { code: 0 };
      if (cmd[2] === 'apt-get install -y nodejs') return { code: 0, stdout: 'Reading package lists...\nSetting up nodejs (18.19.0) ...\n' };
      return { code: 0, stdout: `token written\n`, stderr: `wrote ${TOKEN}\n` };
    });
    const ctx = recordingContext();
    const r = await new WslChildren(wsl.tools, env(), stateDir).create(params(), ctx);
    expect(r.agentInstalled).toBe(true);
    const done = ctx.steps.filter((s) => s.step === 'install-agent' && / done /.test(s.message)).map((s) => s.message);
    expect(done).toEqual([
      'command 1/2 done (exit 0): apt-get install -y nodejs\nReading package lists...\nSetting up nodejs (18.19.0) ...',
      "command 2/2 done (exit 0): printf '%s' '***' > /etc/sysfleet-token && echo token written\nwrote ***",
    ]);
    const everything = JSON.stringify(ctx.steps);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(HASH);
    // The hash does reach useradd, as its -p argument.
    expect(wsl.calls).toContainEqual(['-d', 'dev1', '-u', 'root', '--', 'useradd', '-m', '-s', '/bin/sh', '-p', HASH, 'ops']);
  });

  it('fails naming the command that failed, with its exit status and output', async () => {
    const wsl = fakeWsl((cmd) => (cmd[0] === 'useradd' ? { code: 0 } : { code: 100, stderr: 'E: Unable to locate package nodejs\n' }));
    const ctx = recordingContext();
    const e = await new WslChildren(wsl.tools, env(), stateDir).create(params(), ctx).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).step).toBe('install-agent');
    expect((e as StepError).message).toMatch(/^install command 1\/2 failed \(exit 100\): apt-get install -y nodejs\nE: Unable to locate package nodejs/);
    expect((e as StepError).message).toMatch(/everything it made was removed/);
    expect(wsl.registered).toEqual([]);
  });

  it('never shows the password hash when useradd fails, in the error or the progress', async () => {
    // useradd echoing its arguments back is the worst case: the hash must not survive either way.
    const wsl = fakeWsl((cmd) => (cmd[0] === 'useradd' ? { code: 9, stderr: `useradd: user '${cmd[cmd.length - 1]}' already exists (-p ${cmd[cmd.indexOf('-p') + 1]})\n` } : { code: 0 }));
    const ctx = recordingContext();
    const e = (await new WslChildren(wsl.tools, env(), stateDir).create(params(), ctx).catch((err: unknown) => err)) as StepError;
    expect(e).toBeInstanceOf(StepError);
    expect(e.step).toBe('user');
    expect(e.message).toContain("useradd -m -s /bin/sh -p *** ops exited with 9: useradd: user 'ops' already exists (-p ***)");
    expect(e.message).not.toContain(HASH);
    expect(e.message).not.toContain('h'.repeat(86));
    expect(JSON.stringify(ctx.steps)).not.toContain(HASH);
    expect(JSON.stringify(e.result ?? {})).not.toContain(HASH);
  });
});
