import { generateGuestKeyPair } from './keys';
import { renderOpenBsdInstallConf, OpenBsdInstallOptions } from './openbsd-install';
import { SeedInputError } from './cloud-init';

const BCRYPT = '$2b$10$' + 'abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUV0123456789.'.slice(0, 53);
const rootKey = generateGuestKeyPair('bsd1').publicKey;
const userKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw9XlQyq0vbbvG1Wp3GmvH3kGm1yYc2+ZbF4mQ7sQfS alice@laptop';

function options(over: Partial<OpenBsdInstallOptions> = {}): OpenBsdInstallOptions {
  return { hostname: 'bsd1.example.org', rootPublicKey: rootKey, username: 'alice', userPublicKey: userKey, setsServer: 'cdn.openbsd.org', setsDirectory: 'pub/OpenBSD/7.6/amd64', ...over };
}

/** The answers as the installer looks them up: question -> answer. */
function answers(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const m = /^([^=]+) = (.*)$/.exec(line);
    if (!m) throw new Error(`not a "question = answer" line: ${line}`);
    expect(map.has(m[1])).toBe(false);
    map.set(m[1], m[2]);
  }
  return map;
}

describe('renderOpenBsdInstallConf', () => {
  it('answers the installer: host name, root key, user, sshd, disk and sets', () => {
    const a = answers(renderOpenBsdInstallConf(options({ userPasswordHash: BCRYPT })));
    expect(a.get('System hostname')).toBe('bsd1');
    expect(a.get('DNS domain name')).toBe('example.org');
    expect(a.get('Network interface to configure')).toBe('vio0');
    expect(a.get('IPv4 address for vio0')).toBe('autoconf');
    expect(a.get('Public ssh key for root account')).toBe(rootKey);
    expect(a.get('Password for root account')).toBe('*************');
    expect(a.get('Setup a user')).toBe('alice');
    expect(a.get('Password for user alice')).toBe(BCRYPT);
    expect(a.get('Public ssh key for user alice')).toBe(userKey);
    expect(a.get('Start sshd(8) by default')).toBe('yes');
    expect(a.get('Allow root ssh login')).toBe('prohibit-password');
    expect(a.get('Location of sets')).toBe('http');
    expect(a.get('HTTP Server')).toBe('cdn.openbsd.org');
    expect(a.get('Server directory')).toBe('pub/OpenBSD/7.6/amd64');
    expect(a.get('Set name(s)')).toBe('-game* -x*');
  });

  it('answers "no" to the user question when no user is asked for', () => {
    const a = answers(renderOpenBsdInstallConf(options({ username: undefined, userPublicKey: undefined })));
    expect(a.get('Setup a user')).toBe('no');
  });

  it('refuses SHA-512 crypt hashes (OpenBSD takes only bcrypt) and plain passwords', () => {
    const sha = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
    expect(() => renderOpenBsdInstallConf(options({ rootPasswordHash: sha }))).toThrow(/only|bcrypt/);
    expect(() => renderOpenBsdInstallConf(options({ userPasswordHash: 'hunter2' }))).toThrow(SeedInputError);
  });

  it('refuses values that would add or bend installer answers', () => {
    expect(() => renderOpenBsdInstallConf(options({ setsServer: 'cdn.openbsd.org\nSetup a user = evil' }))).toThrow(/invalid setsServer/);
    expect(() => renderOpenBsdInstallConf(options({ sets: ['-x*', 'bsd\nx'] }))).toThrow(/invalid sets\[1\]/);
    expect(() => renderOpenBsdInstallConf(options({ setsDirectory: '../../etc' }))).toThrow(/invalid setsDirectory/);
    expect(() => renderOpenBsdInstallConf(options({ rootPublicKey: 'not a key' }))).toThrow(/invalid rootPublicKey/);
    expect(() => renderOpenBsdInstallConf(options({ hostname: 'bad host' }))).toThrow(/invalid hostname/);
  });
});
