import { execFileSync } from 'node:child_process';
import { sha512CryptHash } from '@sysfleet/protocol';
import { SeedInputError } from './cloud-init';
import { renderDebianPreseed } from './debian-preseed';
import { generateGuestKeyPair } from './keys';

const oneOff = generateGuestKeyPair('deb1').publicKey;
const operator = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw9XlQyq0vbbvG1Wp3GmvH3kGm1yYc2+ZbF4mQ7sQfS o'brien "laptop" $(reboot)`;

/** debconf lines: "owner question type value". */
function answers(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const m = /^(\S+) (\S+) (\S+) ?(.*)$/.exec(line);
    if (!m) throw new Error(`not a preseed line: ${line}`);
    map.set(m[2], m[4]);
  }
  return map;
}

describe('renderDebianPreseed', () => {
  it('sets host, user, crypted password and no root login', () => {
    const hash = sha512CryptHash('pw');
    const a = answers(renderDebianPreseed({ hostname: 'deb1.lab.example', username: 'alice', passwordHash: hash, sshPublicKeys: [operator, oneOff] }));
    expect(a.get('netcfg/get_hostname')).toBe('deb1');
    expect(a.get('netcfg/get_domain')).toBe('lab.example');
    expect(a.get('passwd/username')).toBe('alice');
    expect(a.get('passwd/user-password-crypted')).toBe(hash);
    expect(a.get('passwd/root-login')).toBe('false');
    expect(a.get('pkgsel/include')).toContain('openssh-server');
  });

  it('locks the password when no hash is given', () => {
    const a = answers(renderDebianPreseed({ hostname: 'deb1', username: 'alice', sshPublicKeys: [oneOff] }));
    expect(a.get('passwd/user-password-crypted')).toBe('!');
  });

  it('writes the keys and the sudo rule through base64, so odd key comments stay inert', () => {
    const a = answers(renderDebianPreseed({ hostname: 'deb1', username: 'alice', sshPublicKeys: [operator, oneOff] }));
    const late = a.get('preseed/late_command')!;
    const m = /^in-target sh -c '([^']*)'$/.exec(late);
    expect(m).not.toBeNull();
    const script = m![1];
    // Nothing but fixed text, the validated user name and base64 reaches the shell.
    expect(script).not.toContain('reboot');
    expect(script).toMatch(/^[A-Za-z0-9 _./&>|=+:-]+$/);
    execFileSync('sh', ['-n', '-c', script]);
    const decoded = [...script.matchAll(/echo ([A-Za-z0-9+/=]+) \| base64 -d/g)].map((x) => Buffer.from(x[1], 'base64').toString('utf8'));
    expect(decoded).toEqual([`${operator}\n${oneOff}\n`, 'alice ALL=(ALL) NOPASSWD:ALL\n']);
  });

  it('refuses invalid input and a seed no key could log in with', () => {
    expect(() => renderDebianPreseed({ hostname: 'deb1', username: 'Alice', sshPublicKeys: [oneOff] })).toThrow(/invalid username/);
    expect(() => renderDebianPreseed({ hostname: 'deb1', username: 'alice', passwordHash: 'secret', sshPublicKeys: [oneOff] })).toThrow(/invalid passwordHash/);
    expect(() => renderDebianPreseed({ hostname: 'deb1', username: 'alice', sshPublicKeys: [] })).toThrow(SeedInputError);
    expect(() => renderDebianPreseed({ hostname: 'deb1', username: 'alice', sshPublicKeys: [oneOff], mirrorHost: 'x\nd-i y' })).toThrow(/invalid mirrorHost/);
  });
});
