import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { EnvironmentVariables } from '../config/config';

/**
 * Encrypts secrets at rest (guest SSH private keys, enrolment tokens inside queued jobs)
 * with AES-256-GCM under a key derived from SYSFLEET_SECRET. Output: "v1.<iv>.<tag>.<data>" in base64url.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(config: EnvironmentVariables) {
    this.key = Buffer.from(hkdfSync('sha256', config.SYSFLEET_SECRET, 'sysfleet', 'secret-box v1', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(sealed: string): string {
    const [v, iv, tag, data] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
