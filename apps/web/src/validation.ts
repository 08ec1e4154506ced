/**
 * The form rules, in one place, mirroring the server's DTO rules so a user sees the problem
 * before a request is made. Each check returns a translation key (plus values) or null.
 */

export interface FieldError {
  key: string;
  values?: Record<string, string | number>;
}
export type Errors<F extends string> = Partial<Record<F, FieldError>>;

export const LIMITS = {
  // The server's CreateChildDto limits; whether the VM fits is checked against the host's available capacity.
  vcpus: { min: 1, max: 256 },
  memoryMb: { min: 128, max: 4 * 1024 * 1024 },
  diskGb: { min: 1, max: 65_536 },
  guestPasswordMin: 8,
  tokenUses: { min: 1, max: 10_000 },
  tokenExpirySeconds: { min: 60, max: 365 * 24 * 3600 },
  noteMax: 500,
  usernameMax: 64,
  userPasswordMin: 12,
  userPasswordMax: 256,
  distVcpus: { min: 1, max: 256 },
  distMemoryMb: { min: 128, max: 4 * 1024 * 1024 },
  installCommands: 50,
  installCommandLength: 4000,
} as const;

export const VM_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
export const GUEST_USERNAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
export const HOSTNAME_LABEL_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
export const INTERFACE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,14}$/;
export const SUBNET_PATTERN = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
/** The server lower-cases user names before checking them. */
export const OPERATOR_USERNAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,63}$/;
export const SSH_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const DIST_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const INSTALL_IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
export const SHA256_PATTERN = /^[a-fA-F0-9]{64}$/;
export const URL_PATTERN = /^https?:\/\/[^\s"'`\\]+$/;
/** Placeholders the server fills into install commands (protocol INSTALL_PLACEHOLDERS). */
export const INSTALL_PLACEHOLDERS = ['serverUrl', 'enrollmentToken', 'agentSha256', 'hostname', 'username'];
export const SSH_PUBLIC_KEY_PATTERN =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}( [^\r\n\0]{1,200})?$/;

const required: FieldError = { key: 'validation.required' };

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 each, 253 in all. */
export function isValidHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => HOSTNAME_LABEL_PATTERN.test(label));
}

export function isValidSshPublicKey(value: string): boolean {
  return SSH_PUBLIC_KEY_PATTERN.test(value.trim());
}

/** Parses a whole number from a form field; anything else (empty, 1.5, 1e3, "12abc") is NaN. */
export function parseWholeNumber(value: string): number {
  const text = value.trim();
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

function checkRange(value: string, min: number, max: number): FieldError | null {
  if (value.trim() === '') return required;
  const n = parseWholeNumber(value);
  if (Number.isNaN(n)) return { key: 'validation.wholeNumber' };
  if (n < min || n > max) return { key: 'validation.range', values: { min, max } };
  return null;
}

function collect<F extends string>(checks: Record<F, FieldError | null>): Errors<F> {
  const out: Errors<F> = {};
  for (const key of Object.keys(checks) as F[]) {
    const error = checks[key];
    if (error) out[key] = error;
  }
  return out;
}

export function hasErrors(errors: Errors<string>): boolean {
  return Object.keys(errors).length > 0;
}

// ---- Create VM ----

export interface CreateVmInput {
  distributionId: string;
  name: string;
  hostname: string;
  vcpus: string;
  memoryMb: string;
  diskGb: string;
  username: string;
  password: string;
  sshPublicKeys: string;
  sshKeyIds: string[];
}
export type CreateVmField = keyof CreateVmInput;

/**
 * The biggest VM the server accepts on the host now (GET /api/hosts/:id/children/capacity): free memory and disk
 * less the reserve the host keeps and what creates under way have claimed. Undefined while unknown.
 */
export interface VmCapacity {
  availableMemoryMb?: number | null;
  availableDiskGb?: number | null;
  reserveMemoryMb?: number | null;
  reserveDiskGb?: number | null;
}

/** One key per non-empty line; blank lines are ignored. */
export function splitKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

const known = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

/** What is available, never below zero (a host already short of its reserve has room for nothing). */
export function availableFigure(n: number | null | undefined): number | undefined {
  return known(n) ? Math.max(0, Math.floor(n)) : undefined;
}

export function validateCreateVm(input: CreateVmInput, capacity: VmCapacity = {}): Errors<CreateVmField> {
  const keys = splitKeys(input.sshPublicKeys);
  const memory = checkRange(input.memoryMb, LIMITS.memoryMb.min, LIMITS.memoryMb.max);
  const disk = checkRange(input.diskGb, LIMITS.diskGb.min, LIMITS.diskGb.max);
  const memoryAvailable = availableFigure(capacity.availableMemoryMb);
  const diskAvailable = availableFigure(capacity.availableDiskGb);
  // The server refuses a VM that would leave less than the reserve: at most `available` fits.
  const memoryTooBig =
    !memory && memoryAvailable !== undefined && parseWholeNumber(input.memoryMb) > memoryAvailable
      ? { key: 'validation.memoryTooBig', values: { available: memoryAvailable, reserve: capacity.reserveMemoryMb ?? 0 } }
      : null;
  const diskTooBig =
    !disk && diskAvailable !== undefined && parseWholeNumber(input.diskGb) > diskAvailable
      ? { key: 'validation.diskTooBig', values: { available: diskAvailable, reserve: capacity.reserveDiskGb ?? 0 } }
      : null;
  return collect<CreateVmField>({
    distributionId: input.distributionId ? null : required,
    name: !input.name ? required : VM_NAME_PATTERN.test(input.name) ? null : { key: 'validation.vmName' },
    hostname: !input.hostname ? required : isValidHostname(input.hostname) ? null : { key: 'validation.hostname' },
    vcpus: checkRange(input.vcpus, LIMITS.vcpus.min, LIMITS.vcpus.max),
    memoryMb: memory ?? memoryTooBig,
    diskGb: disk ?? diskTooBig,
    username: !input.username
      ? required
      : GUEST_USERNAME_PATTERN.test(input.username)
        ? null
        : { key: 'validation.guestUsername' },
    password:
      input.password !== '' && input.password.length < LIMITS.guestPasswordMin
        ? { key: 'validation.minLength', values: { min: LIMITS.guestPasswordMin } }
        : null,
    sshPublicKeys: keys.every(isValidSshPublicKey) ? null : { key: 'validation.sshKey' },
    sshKeyIds: null,
  });
}

// ---- Enrolment token ----

export interface TokenInput {
  uses: string;
  expiresInHours: string;
  autoApprove: boolean;
  note: string;
}
export type TokenField = keyof TokenInput;

export function validateToken(input: TokenInput): Errors<TokenField> {
  const hours = Number(input.expiresInHours.trim());
  const seconds = Math.round(hours * 3600);
  let expiry: FieldError | null = null;
  if (input.expiresInHours.trim() === '') expiry = required;
  else if (!Number.isFinite(hours) || hours <= 0) expiry = { key: 'validation.positive' };
  else if (seconds < LIMITS.tokenExpirySeconds.min || seconds > LIMITS.tokenExpirySeconds.max)
    expiry = {
      key: 'validation.range',
      values: { min: LIMITS.tokenExpirySeconds.min / 3600, max: LIMITS.tokenExpirySeconds.max / 3600 },
    };
  return collect<TokenField>({
    uses: checkRange(input.uses, LIMITS.tokenUses.min, LIMITS.tokenUses.max),
    expiresInHours: expiry,
    autoApprove: null,
    note: input.note.length > LIMITS.noteMax ? { key: 'validation.maxLength', values: { max: LIMITS.noteMax } } : null,
  });
}

export function tokenInputToBody(input: TokenInput): {
  uses: number;
  expiresInSeconds: number;
  autoApprove: boolean;
  note?: string;
} {
  const note = input.note.trim();
  return {
    uses: parseWholeNumber(input.uses),
    expiresInSeconds: Math.round(Number(input.expiresInHours) * 3600),
    autoApprove: input.autoApprove,
    ...(note ? { note } : {}),
  };
}

// ---- Operator users ----

export interface UserInput {
  username: string;
  password: string;
  confirm: string;
  role: string;
}
export type UserField = keyof UserInput;

export function validatePassword(password: string, confirm: string): Errors<'password' | 'confirm'> {
  return collect({
    password: !password
      ? required
      : password.length < LIMITS.userPasswordMin
        ? { key: 'validation.minLength', values: { min: LIMITS.userPasswordMin } }
        : password.length > LIMITS.userPasswordMax
          ? { key: 'validation.maxLength', values: { max: LIMITS.userPasswordMax } }
          : null,
    confirm: confirm !== password ? { key: 'validation.passwordMismatch' } : null,
  });
}

export function validateUser(input: UserInput): Errors<UserField> {
  const username = input.username.trim();
  return {
    ...collect<'username' | 'role'>({
      username: !username
        ? required
        : username.length > LIMITS.usernameMax
          ? { key: 'validation.maxLength', values: { max: LIMITS.usernameMax } }
          : OPERATOR_USERNAME_PATTERN.test(username)
            ? null
            : { key: 'validation.operatorUsername' },
      role: ['viewer', 'operator', 'admin'].includes(input.role) ? null : required,
    }),
    ...validatePassword(input.password, input.confirm),
  };
}

/** The own-password form: the current password, and a new one that meets the server's rules, typed twice. */
export function validatePasswordChange(input: { current: string; password: string; confirm: string }): Errors<'current' | 'password' | 'confirm'> {
  return { ...collect<'current'>({ current: input.current ? null : required }), ...validatePassword(input.password, input.confirm) };
}

// ---- Login ----

export function validateLogin(input: { username: string; password: string }): Errors<'username' | 'password'> {
  return collect({
    username: input.username.trim() ? null : required,
    password: input.password ? null : required,
  });
}

// ---- SSH keys ----

export function validateSshKeyForm(input: { name: string; generate: boolean; publicKey: string }): Errors<'name' | 'publicKey'> {
  return collect({
    name: !input.name.trim()
      ? required
      : SSH_KEY_NAME_PATTERN.test(input.name.trim())
        ? null
        : { key: 'validation.sshKeyName' },
    publicKey: input.generate
      ? null
      : !input.publicKey.trim()
        ? required
        : isValidSshPublicKey(input.publicKey)
          ? null
          : { key: 'validation.sshKey' },
  });
}

// ---- Distributions ----

export interface DistributionInput {
  childType: string;
  name: string;
  version: string;
  displayName: string;
  installIdentifier: string;
  imageUrl: string;
  sha256: string;
  checksumUrl: string;
  defaultVcpus: string;
  defaultMemoryMb: string;
  defaultDiskGb: string;
  installCommands: string;
  enabled: boolean;
  appliance: boolean;
  firmware: string;
  notes: string;
}
export type DistributionField = keyof DistributionInput;

function installCommandsError(text: string, appliance: boolean): FieldError | null {
  const lines = splitKeys(text);
  if (appliance) return lines.length > 0 ? { key: 'validation.applianceNoCommands' } : null;
  if (lines.length === 0) return { key: 'validation.commandsRequired' };
  if (lines.length > LIMITS.installCommands) return { key: 'validation.tooMany', values: { max: LIMITS.installCommands } };
  if (lines.some((l) => l.length > LIMITS.installCommandLength))
    return { key: 'validation.maxLength', values: { max: LIMITS.installCommandLength } };
  const unknown = lines
    .flatMap((l) => [...l.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]))
    .filter((name) => !INSTALL_PLACEHOLDERS.includes(name));
  return unknown.length ? { key: 'validation.placeholders', values: { names: unknown.join(', '), known: INSTALL_PLACEHOLDERS.join(', ') } } : null;
}

export function validateDistribution(input: DistributionInput): Errors<DistributionField> {
  const url = input.imageUrl.trim();
  const checksumUrl = input.checksumUrl.trim();
  const sha = input.sha256.trim();
  const identifier = input.installIdentifier.trim();
  return collect<Exclude<DistributionField, 'enabled' | 'appliance' | 'notes'>>({
    childType: ['kvm', 'vmm', 'wsl'].includes(input.childType) ? null : required,
    name: !input.name.trim() ? required : VM_NAME_PATTERN.test(input.name.trim()) ? null : { key: 'validation.vmName' },
    version: !input.version.trim()
      ? required
      : DIST_VERSION_PATTERN.test(input.version.trim()) && input.version.trim().length <= 64
        ? null
        : { key: 'validation.version' },
    displayName: !input.displayName.trim()
      ? required
      : input.displayName.trim().length > 200
        ? { key: 'validation.maxLength', values: { max: 200 } }
        : null,
    installIdentifier: !identifier
      ? required
      : INSTALL_IDENTIFIER_PATTERN.test(identifier) && identifier.length <= 128
        ? null
        : { key: 'validation.identifier' },
    // kvm and vmm boot an image; WSL installs by its identifier.
    imageUrl: !url ? (input.childType === 'wsl' ? null : { key: 'validation.imageRequired' }) : URL_PATTERN.test(url) ? null : { key: 'validation.url' },
    checksumUrl: !checksumUrl || URL_PATTERN.test(checksumUrl) ? null : { key: 'validation.url' },
    sha256: !sha || SHA256_PATTERN.test(sha) ? null : { key: 'validation.sha256' },
    defaultVcpus: checkRange(input.defaultVcpus, LIMITS.distVcpus.min, LIMITS.distVcpus.max),
    defaultMemoryMb: checkRange(input.defaultMemoryMb, LIMITS.distMemoryMb.min, LIMITS.distMemoryMb.max),
    defaultDiskGb: checkRange(input.defaultDiskGb, LIMITS.diskGb.min, LIMITS.diskGb.max),
    installCommands: installCommandsError(input.installCommands, input.appliance),
    // The server refuses UEFI on vmd and WSL: only KVM boots with a firmware choice.
    firmware: !['bios', 'uefi'].includes(input.firmware) ? required : input.firmware === 'uefi' && input.childType !== 'kvm' ? { key: 'validation.uefiKvmOnly' } : null,
  });
}
