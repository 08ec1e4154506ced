import { SHA512_CRYPT_PATTERN, USERNAME_PATTERN } from '@sysfleet/protocol';
import { checkField, checkPublicKeys, SeedInputError, splitHostname } from './cloud-init';

/**
 * A minimal Debian installer preseed for guests installed from the netinst ISO rather than a cloud
 * image: the user (password from its SHA-512 crypt hash, or locked), passwordless sudo, OpenSSH,
 * and the keys, written by late_command. Every variable part of late_command travels base64-encoded,
 * so no value can change the shell command around it.
 */
export interface DebianPreseedOptions {
  hostname: string;
  username: string;
  passwordHash?: string;
  /** Operator keys and the agent's one-off key, in authorized_keys order. */
  sshPublicKeys: string[];
  mirrorHost?: string;
  mirrorDirectory?: string;
}

const MIRROR_HOST_PATTERN = /^[A-Za-z0-9.-]{1,253}$/;
const MIRROR_DIRECTORY_PATTERN = /^\/[A-Za-z0-9._/-]{0,200}$/;

export function renderDebianPreseed(opts: DebianPreseedOptions): string {
  const { short, fqdn } = splitHostname(opts.hostname);
  const user = checkField('username', opts.username, USERNAME_PATTERN);
  // "!" is a crypt value that matches no password: the account exists but only keys log in.
  const hash = opts.passwordHash === undefined ? '!' : checkField('passwordHash', opts.passwordHash, SHA512_CRYPT_PATTERN);
  const keys = checkPublicKeys('sshPublicKeys', opts.sshPublicKeys);
  if (keys.length === 0) throw new SeedInputError('sshPublicKeys: at least the one-off key is needed, or the agent cannot log in');
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const home = `/home/${user}`;
  const late = [
    `mkdir -p ${home}/.ssh`,
    `echo ${b64(keys.join('\n') + '\n')} | base64 -d > ${home}/.ssh/authorized_keys`,
    `chmod 700 ${home}/.ssh && chmod 600 ${home}/.ssh/authorized_keys && chown -R ${user}:${user} ${home}/.ssh`,
    `echo ${b64(`${user} ALL=(ALL) NOPASSWD:ALL\n`)} | base64 -d > /etc/sudoers.d/90-sysfleet && chmod 440 /etc/sudoers.d/90-sysfleet`,
  ].join(' && ');
  const lines = [
    'd-i debian-installer/locale string en_US.UTF-8',
    'd-i keyboard-configuration/xkb-keymap select us',
    'd-i netcfg/choose_interface select auto',
    `d-i netcfg/get_hostname string ${short}`,
    `d-i netcfg/get_domain string ${fqdn ? fqdn.slice(short.length + 1) : ''}`,
    `d-i netcfg/hostname string ${short}`,
    'd-i mirror/country string manual',
    `d-i mirror/http/hostname string ${checkField('mirrorHost', opts.mirrorHost ?? 'deb.debian.org', MIRROR_HOST_PATTERN)}`,
    `d-i mirror/http/directory string ${checkField('mirrorDirectory', opts.mirrorDirectory ?? '/debian', MIRROR_DIRECTORY_PATTERN)}`,
    'd-i mirror/http/proxy string',
    'd-i passwd/root-login boolean false',
    `d-i passwd/user-fullname string ${user}`,
    `d-i passwd/username string ${user}`,
    `d-i passwd/user-password-crypted password ${hash}`,
    'd-i clock-setup/utc boolean true',
    'd-i time/zone string UTC',
    'd-i partman-auto/method string regular',
    'd-i partman-auto/choose_recipe select atomic',
    'd-i partman-partitioning/confirm_write_new_label boolean true',
    'd-i partman/choose_partition select finish',
    'd-i partman/confirm boolean true',
    'd-i partman/confirm_nooverwrite boolean true',
    'tasksel tasksel/first multiselect standard, ssh-server',
    'd-i pkgsel/include string openssh-server sudo curl ca-certificates',
    'd-i pkgsel/upgrade select none',
    'popularity-contest popularity-contest/participate boolean false',
    'd-i grub-installer/only_debian boolean true',
    'd-i grub-installer/bootdev string default',
    `d-i preseed/late_command string in-target sh -c '${late}'`,
    'd-i finish-install/reboot_in_progress note',
  ];
  return lines.join('\n') + '\n';
}
