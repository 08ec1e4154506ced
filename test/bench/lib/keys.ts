import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PEM = /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/;

/**
 * `count` Ed25519 private keys (PKCS#8 PEM). Kept in `cacheFile` between runs, since 20,000 keys
 * take a few seconds to make; the cache only ever grows, and a corrupt one is made again.
 */
export function loadOrCreateKeys(count: number, cacheFile: string): string[] {
  let keys: string[] = [];
  try {
    const raw: unknown = JSON.parse(readFileSync(cacheFile, 'utf8'));
    if (Array.isArray(raw) && raw.every((k): k is string => typeof k === 'string' && PEM.test(k))) keys = raw;
  } catch {
    /* no cache yet, or unreadable: made below */
  }
  if (keys.length >= count) return keys.slice(0, count);
  while (keys.length < count) {
    const { privateKey } = generateKeyPairSync('ed25519');
    keys.push(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  }
  mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(keys), { mode: 0o600 });
  renameSync(tmp, cacheFile);
  return keys;
}
