import { HOSTNAME_PATTERN, NAME_PATTERN, SHA512_CRYPT_PATTERN, SSH_PUBLIC_KEY_PATTERN, USERNAME_PATTERN } from '@sysfleet/protocol';
import { toYaml, YamlMap } from './yaml';

/**
 * NoCloud seed for cloud images (KVM): `user-data` makes the operator's user with sudo, the
 * operator's SSH keys and the agent's one-off key, and nothing else (no package upgrade on boot, so
 * the first SSH login is not held up); `meta-data` names the instance.
 */
export interface GuestSeedOptions {
  /** cloud-init runs its once-per-instance modules again when this changes. */
  instanceId: string;
  /** Short name or FQDN; an FQDN also sets `fqdn`. */
  hostname: string;
  username: string;
  /** SHA-512 crypt of the user's password; absent: the password is locked (key-only login). */
  passwordHash?: string;
  /** The operator's keys for `username`. */
  sshPublicKeys: string[];
  /** The agent's own key for this child (GuestKeyStore), used to install the agent. */
  oneOffPublicKey: string;
  /** Login shell; defaults to /bin/bash (guestUserDefaults picks /bin/sh for Alpine, which has no bash). */
  shell?: string;
  /**
   * Also give the user a `permit nopass` doas rule (cloud-init's `doas` user key), for images that
   * have doas rather than sudo (Alpine). The sudo rule stays: it is what other images use.
   */
  doas?: boolean;
}

/** A distribution as the seed needs to know it: the catalogue's name and install identifier. */
export interface SeedDistribution {
  name: string;
  installIdentifier: string;
}

/** Alpine (catalogue name alpine, osinfo alpinelinux3.x): BusyBox sh and doas, no bash and no sudo in its cloud images. */
export function isAlpine(dist: SeedDistribution): boolean {
  return dist.name.toLowerCase() === 'alpine' || /^alpinelinux/i.test(dist.installIdentifier);
}

/** The login shell and elevation rule the seed gives the user on this distribution. */
export function guestUserDefaults(dist: SeedDistribution): Required<Pick<GuestSeedOptions, 'shell' | 'doas'>> {
  return isAlpine(dist) ? { shell: '/bin/sh', doas: true } : { shell: '/bin/bash', doas: false };
}

export interface GuestSeed {
  userData: string;
  metaData: string;
}

/** A value that must not reach a guest seed; the message names the field and the rule. */
export class SeedInputError extends Error {}

const SHELL_PATTERN = /^\/[A-Za-z0-9_./-]{1,100}$/;
const MAX_KEYS = 64;

/** Checks `value` against `pattern`, with an error that names the field and shows (a cut) value. */
export function checkField(field: string, value: string | undefined, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new SeedInputError(`invalid ${field} ${JSON.stringify(String(value).slice(0, 80))}: it must match ${pattern.source}`);
  }
  return value;
}

export function checkPublicKeys(field: string, keys: string[]): string[] {
  if (keys.length > MAX_KEYS) throw new SeedInputError(`too many ${field}: ${keys.length} (at most ${MAX_KEYS})`);
  return keys.map((key, i) => checkField(`${field}[${i}]`, key, SSH_PUBLIC_KEY_PATTERN));
}

/** The short host name and, for an FQDN, the whole name. */
export function splitHostname(hostname: string): { short: string; fqdn?: string } {
  checkField('hostname', hostname, HOSTNAME_PATTERN);
  const dot = hostname.indexOf('.');
  return dot === -1 ? { short: hostname } : { short: hostname.slice(0, dot), fqdn: hostname };
}

export function renderUserData(opts: GuestSeedOptions): string {
  const { short, fqdn } = splitHostname(opts.hostname);
  const username = checkField('username', opts.username, USERNAME_PATTERN);
  const passwordHash = opts.passwordHash === undefined ? undefined : checkField('passwordHash', opts.passwordHash, SHA512_CRYPT_PATTERN);
  const keys = [...checkPublicKeys('sshPublicKeys', opts.sshPublicKeys), checkField('oneOffPublicKey', opts.oneOffPublicKey, SSH_PUBLIC_KEY_PATTERN)];
  const shell = checkField('shell', opts.shell ?? '/bin/bash', SHELL_PATTERN);
  const user: YamlMap = {
    name: username,
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    doas: opts.doas ? [`permit nopass ${username}`] : undefined,
    shell,
    lock_passwd: passwordHash === undefined,
    passwd: passwordHash,
    ssh_authorized_keys: [...new Set(keys)],
  };
  const doc: YamlMap = {
    hostname: short,
    fqdn,
    manage_etc_hosts: true,
    // Only this user: the image's default user (ubuntu, debian, ...) is not made.
    users: [user],
    disable_root: true,
    ssh_pwauth: false,
    package_update: false,
    package_upgrade: false,
  };
  // The first line is how cloud-init recognises the format.
  return '#cloud-config\n' + toYaml(doc);
}

export function renderMetaData(opts: Pick<GuestSeedOptions, 'instanceId' | 'hostname'>): string {
  const instanceId = checkField('instanceId', opts.instanceId, NAME_PATTERN);
  return toYaml({ 'instance-id': instanceId, 'local-hostname': splitHostname(opts.hostname).short });
}

/** Both NoCloud files; throws SeedInputError before rendering anything if one value is invalid. */
export function renderNoCloudSeed(opts: GuestSeedOptions): GuestSeed {
  return { userData: renderUserData(opts), metaData: renderMetaData(opts) };
}
