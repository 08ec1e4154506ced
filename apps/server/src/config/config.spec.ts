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
      expect((e as Error).message).toMatch(/SYSFLEET_SECRET must be at least 32 characters/);
    }
  });
});
