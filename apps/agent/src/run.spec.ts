import { CommandError, run, runChecked } from './run';

describe('run', () => {
  it('passes arguments without a shell', async () => {
    const r = await run('printf', ['%s|', 'a b', '$(whoami)', ';rm -rf /']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('a b|$(whoami)|;rm -rf /|');
  });

  it('captures a non-zero exit and stderr', async () => {
    const r = await run('sh', ['-c', 'echo oops >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stderr: 'oops\n', timedOut: false });
    await expect(runChecked('sh', ['-c', 'echo oops >&2; exit 3'])).rejects.toThrow(CommandError);
  });

  it('kills a command that runs past its timeout', async () => {
    const r = await run('sleep', ['5'], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
    expect(r.code).not.toBe(0);
  });

  it('rejects when the command does not exist', async () => {
    await expect(run('no-such-tool-sysfleet', [])).rejects.toThrow(/cannot run no-such-tool-sysfleet/);
  });

  it('feeds stdin', async () => {
    expect((await run('cat', [], { input: 'hello' })).stdout).toBe('hello');
  });
});
