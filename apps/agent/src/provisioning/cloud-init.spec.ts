import { parse } from 'yaml';
import { sha512CryptHash } from '@sysfleet/protocol';
import { generateGuestKeyPair } from './keys';
import { guestUserDefaults, isAlpine, renderMetaData, renderNoCloudSeed, renderUserData, SeedInputError, GuestSeedOptions } from './cloud-init';
import { toYaml, yamlScalar } from './yaml';

/** cloud-init reads user-data with PyYAML, a YAML 1.1 reader: parse the same way. */
const yaml11 = (text: string): unknown => parse(text, { version: '1.1' });

const OPERATOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw9XlQyq0vbbvG1Wp3GmvH3kGm1yYc2+ZbF4mQ7sQfS alice@laptop: "work" #1';
const oneOff = generateGuestKeyPair('web1').publicKey;

function options(over: Partial<GuestSeedOptions> = {}): GuestSeedOptions {
  return { instanceId: 'web1', hostname: 'web1.example.org', username: 'alice', sshPublicKeys: [OPERATOR_KEY], oneOffPublicKey: oneOff, ...over };
}

describe('renderUserData', () => {
  it('writes a #cloud-config that makes the user with sudo, both keys and no password login', () => {
    const hash = sha512CryptHash('s3cret');
    const text = renderUserData(options({ passwordHash: hash }));
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    expect(yaml11(text)).toEqual({
      hostname: 'web1',
      fqdn: 'web1.example.org',
      manage_etc_hosts: true,
      users: [
        {
          name: 'alice',
          sudo: 'ALL=(ALL) NOPASSWD:ALL',
          shell: '/bin/bash',
          lock_passwd: false,
          passwd: hash,
          ssh_authorized_keys: [OPERATOR_KEY, oneOff],
        },
      ],
      disable_root: true,
      ssh_pwauth: false,
      package_update: false,
      package_upgrade: false,
    });
    expect(text).not.toContain('s3cret');
  });

  it('locks the password when no hash is given and leaves fqdn out for a short name', () => {
    const doc = yaml11(renderUserData(options({ hostname: 'db1', passwordHash: undefined, sshPublicKeys: [] }))) as Record<string, unknown>;
    expect(doc.hostname).toBe('db1');
    expect(doc).not.toHaveProperty('fqdn');
    const [user] = doc.users as Record<string, unknown>[];
    expect(user.lock_passwd).toBe(true);
    expect(user).not.toHaveProperty('passwd');
    expect(user.ssh_authorized_keys).toEqual([oneOff]);
  });

  it('quotes values a YAML 1.1 reader would turn into booleans, numbers or nulls', () => {
    // Valid user and host names that are YAML keywords or numbers when written plain.
    for (const name of ['no', 'on', 'null', 'y', 'true']) {
      const doc = yaml11(renderUserData(options({ username: name, hostname: name }))) as { hostname: unknown; users: { name: unknown }[] };
      expect(doc.hostname).toBe(name);
      expect(doc.users[0].name).toBe(name);
    }
    for (const host of ['1234', '0x1f', '1e3', '2001-12-14', '12345.example']) {
      const doc = yaml11(renderUserData(options({ hostname: host }))) as { hostname: unknown; fqdn?: unknown };
      expect(typeof doc.hostname).toBe('string');
      expect(String(doc.fqdn ?? doc.hostname)).toBe(host);
    }
  });

  it('refuses invalid names, keys and hashes before writing anything', () => {
    const bad: [Partial<GuestSeedOptions>, RegExp][] = [
      [{ username: 'Alice' }, /invalid username "Alice"/],
      [{ username: 'root\nsudo: ALL' }, /invalid username/],
      [{ hostname: 'web_1' }, /invalid hostname/],
      [{ hostname: 'a'.repeat(64) }, /invalid hostname/],
      [{ instanceId: '../x' }, /invalid instanceId/],
      [{ passwordHash: 'plain-password' }, /invalid passwordHash/],
      [{ sshPublicKeys: ['ssh-ed25519 AAAA\nssh-rsa BBBB'] }, /invalid sshPublicKeys\[0\]/],
      [{ sshPublicKeys: ['command="rm -rf /" ssh-ed25519 AAAA'] }, /invalid sshPublicKeys\[0\]/],
      [{ oneOffPublicKey: '' }, /invalid oneOffPublicKey/],
      [{ shell: '/bin/sh; reboot' }, /invalid shell/],
    ];
    for (const [over, message] of bad) {
      expect(() => renderNoCloudSeed(options(over))).toThrow(SeedInputError);
      expect(() => renderNoCloudSeed(options(over))).toThrow(message);
    }
  });
});

describe('renderMetaData', () => {
  it('names the instance and its short host name', () => {
    const text = renderMetaData({ instanceId: 'web1-7f3a', hostname: 'web1.example.org' });
    expect(yaml11(text)).toEqual({ 'instance-id': 'web1-7f3a', 'local-hostname': 'web1' });
  });
});

describe('toYaml', () => {
  it('round-trips odd strings, nesting and empty collections through a YAML 1.1 reader', () => {
    const odd = ['', ' lead', 'trail ', 'a: b', '- x', '# not a comment', '"quoted"', "it's", 'back\\slash', 'tab\there', 'line\nbreak', '~', '@at', '`tick', '!tag', '&anchor', '*alias', '|', '>', '%', '{x}', '[y]', 'x, y', '0o17', '.inf', '.NaN', '1_000', '12:30:00', 'ünï', 'emoji 😀', 'bell\x07', 'del\x7f', 'nbsp\u0085', 'sep\u2028'];
    const doc = { odd, nested: { list: [{ a: 'b', c: [1, true, 'x'] }, []], empty: {}, none: [] }, 'key with: colon': 'v' };
    expect(yaml11(toYaml(doc))).toEqual(doc);
  });

  it('leaves plain the values that are safe, so the seed stays readable', () => {
    expect(yamlScalar('alice')).toBe('alice');
    expect(yamlScalar('/bin/bash')).toBe('/bin/bash');
    expect(yamlScalar('web1.example.org')).toBe('web1.example.org');
    expect(yamlScalar('No')).toBe('"No"');
    expect(yamlScalar('1.0')).toBe('"1.0"');
  });
});

describe('guestUserDefaults (Alpine has no bash and no sudo)', () => {
  const alpine = { name: 'alpine', installIdentifier: 'alpinelinux3.21' };
  const debian = { name: 'debian', installIdentifier: 'debian12' };

  it('knows Alpine by its catalogue name or its osinfo id, and nothing else as Alpine', () => {
    expect(isAlpine(alpine)).toBe(true);
    expect(isAlpine({ name: 'my-alpine-build', installIdentifier: 'alpinelinux3.20' })).toBe(true);
    expect(isAlpine({ name: 'Alpine', installIdentifier: 'generic' })).toBe(true);
    expect(isAlpine(debian)).toBe(false);
    expect(isAlpine({ name: 'ubuntu', installIdentifier: 'ubuntu24.04' })).toBe(false);
  });

  it('gives an Alpine user /bin/sh and a nopass doas rule next to the sudo rule', () => {
    const [user] = (yaml11(renderUserData(options({ ...guestUserDefaults(alpine) }))) as { users: Record<string, unknown>[] }).users;
    expect(user).toMatchObject({ name: 'alice', shell: '/bin/sh', doas: ['permit nopass alice'], sudo: 'ALL=(ALL) NOPASSWD:ALL' });
  });

  it('keeps /bin/bash and writes no doas key for other distributions', () => {
    const [user] = (yaml11(renderUserData(options({ ...guestUserDefaults(debian) }))) as { users: Record<string, unknown>[] }).users;
    expect(user.shell).toBe('/bin/bash');
    expect(user).not.toHaveProperty('doas');
  });
});
