import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SHA-512 crypt (`$6$`), the password hash glibc, cloud-init (`passwd:`) and Debian's preseed
 * (`user-password-crypted`) take. Follows Ulrich Drepper's specification ("Unix crypt using SHA-256
 * and SHA-512"), so hashes made here verify with the guest's crypt(3) and vice versa. The pattern of a whole
 * hash, SHA512_CRYPT_PATTERN, lives with the child.create contract in children.ts.
 */
export const SHA512_CRYPT_DEFAULT_ROUNDS = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * crypt(3) with a `$6$` setting: `setting` is `$6$salt` or `$6$rounds=N$salt` (anything after the
 * salt's closing `$`, such as a previous hash, is ignored, so a stored hash can be passed to verify).
 */
export function sha512Crypt(password: string, setting: string): string {
  if (!setting.startsWith('$6$')) throw new Error('not a SHA-512 crypt setting: it must start with $6$');
  let rest = setting.slice(3);
  let rounds = SHA512_CRYPT_DEFAULT_ROUNDS;
  let roundsGiven = false;
  const roundsMatch = /^rounds=([0-9]+)\$/.exec(rest);
  if (roundsMatch) {
    // Out-of-range counts are clamped, not refused: that is what glibc does.
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(roundsMatch[1])));
    roundsGiven = true;
    rest = rest.slice(roundsMatch[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end === -1 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  if (/[:\s]/.test(salt)) throw new Error('a SHA-512 crypt salt must not contain ":" or white space');
  const hash = sha512CryptRaw(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), rounds);
  return `$6$${roundsGiven ? `rounds=${rounds}$` : ''}${salt}$${hash}`;
}

/** Hashes a password with a fresh random 16-character salt. */
export function sha512CryptHash(password: string, rounds = SHA512_CRYPT_DEFAULT_ROUNDS): string {
  const bytes = randomBytes(SALT_MAX);
  let salt = '';
  for (const b of bytes) salt += ITOA64[b & 63];
  const setting = rounds === SHA512_CRYPT_DEFAULT_ROUNDS ? `$6$${salt}` : `$6$rounds=${rounds}$${salt}`;
  return sha512Crypt(password, setting);
}

/** True when `password` hashes to `hash`; false (never a throw) for a malformed hash. */
export function verifySha512Crypt(password: string, hash: string): boolean {
  let again: Buffer;
  try {
    again = Buffer.from(sha512Crypt(password, hash));
  } catch {
    return false;
  }
  const stored = Buffer.from(hash);
  return again.length === stored.length && timingSafeEqual(again, stored);
}

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `digest` repeated (and cut) to exactly `length` bytes. */
function stretch(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 64) digest.copy(out, i, 0, Math.min(64, length - i));
  return out;
}

function sha512CryptRaw(pw: Buffer, salt: Buffer, rounds: number): string {
  const b = sha512(pw, salt, pw);
  const a = createHash('sha512').update(pw).update(salt).update(stretch(b, pw.length));
  for (let n = pw.length; n > 0; n >>= 1) a.update(n & 1 ? b : pw);
  const aDigest = a.digest();

  const dp = createHash('sha512');
  for (let i = 0; i < pw.length; i++) dp.update(pw);
  const p = stretch(dp.digest(), pw.length);

  const ds = createHash('sha512');
  for (let i = 0; i < 16 + aDigest[0]; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);

  let c = aDigest;
  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha512');
    h.update(i & 1 ? p : c);
    if (i % 3 !== 0) h.update(s);
    if (i % 7 !== 0) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  return encode(c);
}

/** crypt's own base64 of the final digest, in the byte order the spec fixes for SHA-512. */
function encode(d: Buffer): string {
  let out = '';
  const put = (b2: number, b1: number, b0: number, chars: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < chars; i++, w >>= 6) out += ITOA64[w & 63];
  };
  for (let i = 0; i < 21; i++) {
    const [x, y, z] = [i, i + 21, i + 42];
    if (i % 3 === 0) put(d[x], d[y], d[z], 4);
    else if (i % 3 === 1) put(d[y], d[z], d[x], 4);
    else put(d[z], d[x], d[y], 4);
  }
  put(0, 0, d[63], 2);
  return out;
}
