import { SSH_PUBLIC_KEY_PATTERN, USERNAME_PATTERN } from '@sysfleet/protocol';
import { checkField, SeedInputError, splitHostname } from './cloud-init';

/**
 * OpenBSD autoinstall(8) response file (`install.conf`) for a vmd guest: one "question = answer"
 * line per installer question (matched by its text; questions asked again, such as a second
 * network interface or set location, fall back to their default, "done"). The installer writes exactly one key per account, so root gets the
 * agent's one-off key (the agent logs in as root: a fresh OpenBSD has no doas.conf) and the user
 * gets the operator's first key; further operator keys are added over SSH after the install.
 */
export interface OpenBsdInstallOptions {
  hostname: string;
  /** The agent's one-off key (GuestKeyStore), for root. */
  rootPublicKey: string;
  /**
   * bcrypt hash (`$2b$...`, as encrypt(1) makes it) for root. OpenBSD's crypt accepts only bcrypt,
   * so a SHA-512 crypt hash is refused. Absent: root has no password (key-only).
   */
  rootPasswordHash?: string;
  username?: string;
  userPasswordHash?: string;
  userPublicKey?: string;
  /** Where the installer fetches the sets over HTTP, e.g. cdn.openbsd.org + pub/OpenBSD/7.6/amd64. */
  setsServer: string;
  setsDirectory: string;
  /** Set selection as the installer takes it; defaults to everything but games and X. */
  sets?: string[];
  /** Network interface of the guest (vmd's virtio NIC is vio0). */
  interface?: string;
  disk?: string;
  timezone?: string;
}

/** encrypt(1)'s output; install.sub passes answers of this form through unchanged. */
const BCRYPT_PATTERN = /^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;
/** What install.sub takes as "no password": the account can still log in with its key. */
const NO_PASSWORD = '*************';
const SETS_SERVER_PATTERN = /^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$/;
const SETS_DIRECTORY_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const SET_PATTERN = /^[-+]?[a-z0-9.*?]{1,32}$/;
const DEVICE_PATTERN = /^[a-z]{2,8}[0-9]{1,3}$/;
const TIMEZONE_PATTERN = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

function passwordAnswer(field: string, hash: string | undefined): string {
  if (hash === undefined) return NO_PASSWORD;
  if (hash.startsWith('$6$')) throw new SeedInputError(`${field}: OpenBSD does not accept SHA-512 crypt hashes; give a bcrypt hash ($2b$..., from encrypt(1)) or none`);
  return checkField(field, hash, BCRYPT_PATTERN);
}

export function renderOpenBsdInstallConf(opts: OpenBsdInstallOptions): string {
  const { short, fqdn } = splitHostname(opts.hostname);
  const nic = checkField('interface', opts.interface ?? 'vio0', DEVICE_PATTERN);
  const answers: [string, string][] = [
    ['System hostname', short],
    ...(fqdn ? ([['DNS domain name', fqdn.slice(short.length + 1)]] as [string, string][]) : []),
    ['Network interface to configure', nic],
    [`IPv4 address for ${nic}`, 'autoconf'],
    ['Password for root account', passwordAnswer('rootPasswordHash', opts.rootPasswordHash)],
    ['Public ssh key for root account', checkField('rootPublicKey', opts.rootPublicKey, SSH_PUBLIC_KEY_PATTERN)],
    ['Start sshd(8) by default', 'yes'],
    ['Do you expect to run the X Window System', 'no'],
  ];
  if (opts.username !== undefined) {
    const user = checkField('username', opts.username, USERNAME_PATTERN);
    answers.push(
      ['Setup a user', user],
      [`Full name for user ${user}`, user],
      [`Password for user ${user}`, passwordAnswer('userPasswordHash', opts.userPasswordHash)],
    );
    if (opts.userPublicKey !== undefined) answers.push([`Public ssh key for user ${user}`, checkField('userPublicKey', opts.userPublicKey, SSH_PUBLIC_KEY_PATTERN)]);
  } else {
    answers.push(['Setup a user', 'no']);
  }
  const sets = (opts.sets ?? ['-game*', '-x*']).map((s, i) => checkField(`sets[${i}]`, s, SET_PATTERN));
  answers.push(
    ['Allow root ssh login', 'prohibit-password'],
    ['What timezone are you in', checkField('timezone', opts.timezone ?? 'UTC', TIMEZONE_PATTERN)],
    ['Which disk is the root disk', checkField('disk', opts.disk ?? 'sd0', DEVICE_PATTERN)],
    ['Use (W)hole disk MBR, whole disk (G)PT or (E)dit', 'whole'],
    ['Use (A)uto layout, (E)dit auto layout, or create (C)ustom layout', 'a'],
    ['Location of sets', 'http'],
    ['HTTP proxy URL', 'none'],
    ['HTTP Server', checkField('setsServer', opts.setsServer, SETS_SERVER_PATTERN)],
    ['Server directory', checkField('setsDirectory', opts.setsDirectory, SETS_DIRECTORY_PATTERN)],
    ['Set name(s)', sets.join(' ')],
  );
  return answers.map(([q, a]) => `${q} = ${a}\n`).join('');
}
