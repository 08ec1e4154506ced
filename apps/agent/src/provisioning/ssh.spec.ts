import { execFileSync } from 'node:child_process';
import { cleanGuestText, describeInstallResult, detectElevation, InstallCommandError, maskSecrets, outputTail, shellQuote, TailBuffer, waitForSsh } from './ssh';
import { generateGuestKeyPair } from './keys';

const TOKEN = 'sfe_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

describe('maskSecrets', () => {
  it('replaces every occurrence of every secret, longest first', () => {
    expect(maskSecrets(`a ${TOKEN} b ${TOKEN}`, [TOKEN])).toBe('a *** b ***');
    // A secret that contains another is masked whole, not left half-visible.
    expect(maskSecrets('key=abcdef', ['abc', 'abcdef'])).toBe('key=***');
    expect(maskSecrets('nothing here', [''])).toBe('nothing here');
  });
});

describe('cleanGuestText', () => {
  it('strips terminal escapes and control characters but keeps newlines and tabs', () => {
    const raw = '\x1b[1;31mERROR\x1b[0m\tdisk\x07 full\r\nnext\rline\x1b]0;title\x07\x00\x7f\u202eevil\u2028';
    expect(cleanGuestText(raw, [], 1000)).toBe('ERROR\tdisk full\nnext\nlineevil');
  });

  it('masks a secret that control characters were hiding', () => {
    const hidden = TOKEN.slice(0, 10) + '\x1b[0m' + TOKEN.slice(10);
    expect(cleanGuestText(`token: ${hidden}`, [TOKEN], 1000)).toBe('token: ***');
  });

  it('keeps only the last characters, marking the cut', () => {
    expect(cleanGuestText('0123456789', [], 4)).toBe('…6789');
  });
});

describe('outputTail', () => {
  it('never shows the end of a secret whose start was cut off with the dropped output', () => {
    // The kept window starts inside a token; later copies of the token shrink to ***, so a plain
    // "last N characters" would reach back into the visible remainder.
    const bytes = Buffer.from(TOKEN.slice(10) + ` ${TOKEN}`.repeat(5));
    const out = outputTail({ bytes, truncated: true }, [TOKEN], 40);
    expect(out).not.toContain(TOKEN.slice(30));
    expect(out).toMatch(/^…[* ]+$/);
  });

  it('shows untruncated output as it is, cleaned', () => {
    expect(outputTail({ bytes: Buffer.from(`ok ${TOKEN}\n`), truncated: false }, [TOKEN], 100)).toBe('ok ***');
  });
});

describe('TailBuffer', () => {
  it('keeps the last bytes of a long stream and says it dropped some', () => {
    const buf = new TailBuffer(10);
    for (let i = 0; i < 100; i++) buf.push(Buffer.from(`line ${i}\n`));
    const { bytes, truncated } = buf.captured;
    expect(bytes.toString()).toBe('e 98\nline 99\n'.slice(-10));
    expect(truncated).toBe(true);
  });

  it('keeps short output whole', () => {
    const buf = new TailBuffer(100);
    buf.push(Buffer.from('a'));
    buf.push(Buffer.from('b'));
    expect(buf.captured).toEqual({ bytes: Buffer.from('ab'), truncated: false });
  });
});

describe('shellQuote', () => {
  it('hands sh -c the command byte for byte, quotes and all', () => {
    for (const text of [`echo 'it''s' "$HOME" \`id\` $(id) ; \\ done`, "'", '', 'a\nb']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' })).toBe(text);
    }
  });
});

describe('InstallCommandError and describeInstallResult', () => {
  const result = { index: 1, command: 'curl -fsS https://x/agent | sh -s *** ', code: 7, timedOut: false, stdoutTail: 'out', stderrTail: 'curl: (7) refused' };

  it('name the command by position and text, with the output tail', () => {
    expect(new InstallCommandError(result, 4).message).toBe('install command 2/4 failed (exit 7): curl -fsS https://x/agent | sh -s *** \ncurl: (7) refused');
    expect(describeInstallResult({ ...result, code: 0, stderrTail: '' }, 4)).toBe('command 2/4 done (exit 0): curl -fsS https://x/agent | sh -s *** \nout');
  });

  it('stay within a job.progress message (4000 characters) for the longest command and tail', () => {
    const long = { ...result, command: 'x'.repeat(4000), stderrTail: 'y'.repeat(2049) };
    expect(describeInstallResult(long, 50).length).toBeLessThan(4000);
    expect(new InstallCommandError(long, 50).message.length).toBeLessThan(4000);
  });

  it('say when a command was killed or the connection dropped', () => {
    expect(new InstallCommandError({ ...result, code: null, signal: 'KILL' }, 2).message).toContain('(killed by KILL)');
    expect(new InstallCommandError({ ...result, code: null }, 2).message).toContain('(connection lost before it finished)');
  });
});

describe('waitForSsh input checks', () => {
  const privateKey = generateGuestKeyPair('g').privateKey;

  it('refuses a malformed address, port or key before trying to connect', async () => {
    await expect(waitForSsh({ host: 'a b; rm -rf /', username: 'root', privateKey })).rejects.toThrow(/invalid guest address/);
    await expect(waitForSsh({ host: '10.0.0.5', port: 70000, username: 'root', privateKey })).rejects.toThrow(/invalid SSH port/);
    await expect(waitForSsh({ host: '10.0.0.5', username: 'root', privateKey: 'not a key' })).rejects.toThrow(/the guest key cannot be used/);
  });
});

describe('detectElevation', () => {
  /** A connection whose guest has the given commands on PATH; records what it was asked to run. */
  const guestWith = (paths: Record<string, string>) => {
    const asked: string[] = [];
    const conn = {
      execCommand: async (command: string) => {
        asked.push(command);
        // sh's `a || b`: the first `command -v` that finds its command prints the path and succeeds.
        for (const name of command.split(' || ').map((c) => c.replace(/^command -v /, ''))) {
          if (paths[name]) return { stdout: paths[name] + '\n', stderr: '', code: 0, signal: null };
        }
        return { stdout: '', stderr: '', code: 1, signal: null };
      },
    };
    return { conn, asked };
  };

  it('asks the guest for sudo, then doas, in one command', async () => {
    const { conn, asked } = guestWith({ sudo: '/usr/bin/sudo' });
    await expect(detectElevation(conn as never, 'alice')).resolves.toBe('sudo');
    expect(asked).toEqual(['command -v sudo || command -v doas']);
  });

  it('prefers sudo when both are there, and uses doas where there is no sudo (Alpine)', async () => {
    await expect(detectElevation(guestWith({ sudo: '/usr/bin/sudo', doas: '/usr/bin/doas' }).conn as never, 'alice')).resolves.toBe('sudo');
    await expect(detectElevation(guestWith({ doas: '/usr/bin/doas' }).conn as never, 'alice')).resolves.toBe('doas');
  });

  it('fails the install step before any command when the guest has neither', async () => {
    const attempt = detectElevation(guestWith({}).conn as never, 'alice');
    await expect(attempt).rejects.toMatchObject({ step: 'install-agent' });
    await expect(attempt).rejects.toThrow('the install commands need root, but alice has neither sudo nor doas in the guest (`command -v sudo || command -v doas` found nothing): install one in the image, or create the VM with username root');
  });
});
