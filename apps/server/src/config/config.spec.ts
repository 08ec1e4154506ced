import { ConfigError, loadConfig } from './config';

const good = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/sysfleet',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PUBLIC_URL: 'http://localhost:3000',
  SYSFLEET_SECRET: 'x'.repeat(32),
};

describe('loadConfig', () => {
  it('reads a valid environment and applies defaults', () => {
    const c = loadConfig({ ...good, PORT: '4000' });
    expect(c.PORT).toBe(4000);
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('names each missing or bad variable', () => {
    expect(() => loadConfig({ ...good, DATABASE_URL: undefined, PORT: 'eighty' })).toThrow(ConfigError);
    try {
      loadConfig({ ...good, DATABASE_URL: undefined, PORT: 'eighty', SYSFLEET_SECRET: 'short' });
    } catch (e) {
      expect((e as Error).message).toMatch(/DATABASE_URL is missing/);
      expect((e as Error).message).toMatch(/PORT/);
      expect((e as Error).message).toMatch(/SYSFLEET_SECRET: must be at least 32 characters/);
    }
  });

  it('reads session, login-limit and trust-proxy settings', () => {
    expect(loadConfig({ ...good, SESSION_TTL_HOURS: '2' }).SESSION_TTL_HOURS).toBe(2);
    for (const v of ['false', 'true', '1', 'loopback, 10.0.0.0/8', '10.0.0.1,fd00::/8']) expect(loadConfig({ ...good, TRUST_PROXY: v }).TRUST_PROXY).toBe(v);
    for (const v of ['yes please', 'loopback;', '*']) expect(() => loadConfig({ ...good, TRUST_PROXY: v })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ ...good, LOGIN_MAX_FAILURES_PER_USER: '0' })).toThrow(/LOGIN_MAX_FAILURES_PER_USER/);
  });
});
