import { createLogger, formatLogLine } from './log';

describe('logger', () => {
  it('writes one line with time, level, message and fields', () => {
    const line = formatLogLine('warn', 'disconnected\nagain', { reason: 'transport close', code: 3, skip: undefined }, new Date('2026-01-02T03:04:05.000Z'));
    expect(line).toBe('2026-01-02T03:04:05.000Z WARN  disconnected\\nagain reason="transport close" code=3\n');
  });

  it('drops lines below the chosen level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l));
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['WARN', 'ERROR']);
  });
});
