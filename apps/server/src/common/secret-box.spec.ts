import { EnvironmentVariables } from '../config/config';
import { SecretBox } from './secret-box';

const box = (secret: string) => new SecretBox({ SYSFLEET_SECRET: secret } as EnvironmentVariables);

describe('SecretBox', () => {
  it('round-trips and never shows the plain text', () => {
    const sealed = box('s'.repeat(32)).seal('token-123');
    expect(sealed).not.toContain('token-123');
    expect(box('s'.repeat(32)).open(sealed)).toBe('token-123');
  });

  it('refuses tampered data and another secret', () => {
    const sealed = box('s'.repeat(32)).seal('token-123');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box('s'.repeat(32)).open(parts.join('.'))).toThrow();
    expect(() => box('t'.repeat(32)).open(sealed)).toThrow();
  });
});
