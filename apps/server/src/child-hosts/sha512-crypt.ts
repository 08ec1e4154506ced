import { createHash, randomBytes } from 'node:crypto';

/**
 * SHA-512 crypt ("$6$", Ulrich Drepper's specification), the hash `chpasswd -e`, `usermod -p`
 * and cloud-init's `passwd:` take, so a guest password never travels or rests in plain text.
 */

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const SALT_CHARS = /^[./0-9A-Za-z]{1,16}$/;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `len` bytes of `digest` repeated. */
function repeatTo(digest: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, len - i));
  return out;
}

function encode(final: Buffer): string {
  // The specification's byte order for SHA-512: triples (0,21,42), (22,43,1), ... then 63 alone.
  let out = '';
  const put = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += ITOA64[w & 0x3f];
      w >>= 6;
    }
  };
  for (let i = 0; i < 21; i++) {
    const a = (i * 22) % 63;
    const b = (a + 21) % 63;
    const c = (b + 21) % 63;
    put(final[a], final[b], final[c], 4);
  }
  put(0, 0, final[63], 2);
  return out;
}

/** crypt(3) with a "$6$" setting: `sha512Crypt('pw', 'saltstring')` or with `rounds`. */
export function sha512Crypt(password: string, saltIn: string = randomSalt(), rounds?: number): string {
  const salt = saltIn.slice(0, 16); // the specification uses at most 16 salt characters
  if (!SALT_CHARS.test(salt)) throw new Error('salt must be 1-16 characters of [./0-9A-Za-z]');
  const r = rounds === undefined ? DEFAULT_ROUNDS : Math.min(999_999_999, Math.max(1000, rounds));
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt, 'utf8');
  const B = sha512(P, S, P);
  const aParts: Buffer[] = [P, S, repeatTo(B, P.length)];
  for (let n = P.length; n > 0; n >>= 1) aParts.push(n & 1 ? B : P);
  const A = sha512(...aParts);
  const DP = sha512(...Array.from({ length: P.length }, () => P));
  const pBytes = repeatTo(DP, P.length);
  const DS = sha512(...Array.from({ length: 16 + A[0] }, () => S));
  const sBytes = repeatTo(DS, S.length);
  let C = A;
  for (let i = 0; i < r; i++) {
    const parts: Buffer[] = [i & 1 ? pBytes : C];
    if (i % 3) parts.push(sBytes);
    if (i % 7) parts.push(pBytes);
    parts.push(i & 1 ? C : pBytes);
    C = sha512(...parts);
  }
  const setting = rounds === undefined ? `$6$${salt}` : `$6$rounds=${r}$${salt}`;
  return `${setting}$${encode(C)}`;
}

/** 16 random salt characters. */
export function randomSalt(): string {
  return Array.from(randomBytes(16), (b) => ITOA64[b & 0x3f]).join('');
}
