import { SHA512_CRYPT_PATTERN } from './index';
import { sha512Crypt, sha512CryptHash, verifySha512Crypt } from './crypt';

/** The SHA-512 test vectors published with Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512". */
const SPEC_VECTORS: [setting: string, password: string, expected: string][] = [
  ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test', '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  [
    '$6$rounds=1400$anotherlongsaltstring',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
  ],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password', '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string', '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];

describe('sha512Crypt', () => {
  it.each(SPEC_VECTORS)('matches the specification for %s', (setting, password, expected) => {
    expect(sha512Crypt(password, setting)).toBe(expected);
  });

  it('takes a whole stored hash as the setting, so verification can rehash with it', () => {
    const [, password, expected] = SPEC_VECTORS[0];
    expect(sha512Crypt(password, expected)).toBe(expected);
    expect(verifySha512Crypt(password, expected)).toBe(true);
    expect(verifySha512Crypt('Hello world?', expected)).toBe(false);
  });

  it('refuses settings that are not $6$ and salts that would break /etc/shadow', () => {
    expect(() => sha512Crypt('pw', '$5$saltstring')).toThrow(/\$6\$/);
    expect(() => sha512Crypt('pw', '$6$bad:salt')).toThrow(/salt/);
  });

  it('hashes non-ASCII passwords as UTF-8', () => {
    const hash = sha512Crypt('pässwörd', '$6$saltstring');
    expect(hash).not.toBe(sha512Crypt('passwort', '$6$saltstring'));
    expect(verifySha512Crypt('pässwörd', hash)).toBe(true);
  });
});

describe('sha512CryptHash', () => {
  it('makes a fresh salt each time and a hash that verifies', () => {
    const a = sha512CryptHash('correct horse');
    const b = sha512CryptHash('correct horse');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(verifySha512Crypt('correct horse', a)).toBe(true);
    expect(verifySha512Crypt('wrong horse', a)).toBe(false);
  });

  it('writes a non-default round count into the hash', () => {
    expect(sha512CryptHash('x', 6000)).toMatch(/^\$6\$rounds=6000\$/);
  });
});

describe('SHA512_CRYPT_PATTERN (the child.create contract) and verification of malformed hashes', () => {
  it('accepts every hash made here and refuses anything else', () => {
    for (const [, , hash] of SPEC_VECTORS) expect(hash).toMatch(SHA512_CRYPT_PATTERN);
    expect(sha512CryptHash('pw')).toMatch(SHA512_CRYPT_PATTERN);
    expect('plain text password').not.toMatch(SHA512_CRYPT_PATTERN);
    expect(verifySha512Crypt('x', 'not a hash')).toBe(false);
    expect(verifySha512Crypt('x', '$6$saltstring$short')).toBe(false);
  });
});
