import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile, parseCommandLine, parseServerUrl, UsageError } from './config';

describe('parseCommandLine', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'sfa-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const writeConfig = (value: unknown) => writeFileSync(path.join(dir, 'agent.json'), JSON.stringify(value));

  it('reads run flags', () => {
    const cli = parseCommandLine(['run', '--server', 'https://fleet.example.org/', '--state-dir', dir, '--enrollment-token', 'tok-0123456789abcdef', '--simulate', 'kvm', '--log-level', 'debug']);
    expect(cli).toEqual({
      command: 'run',
      config: { server: 'https://fleet.example.org', stateDir: dir, enrollmentToken: 'tok-0123456789abcdef', simulate: 'kvm', logLevel: 'debug', maxConcurrentJobs: 4 },
    });
  });

  it('takes settings from agent.json and lets flags win', () => {
    writeConfig({ server: 'http://file.example:3000', enrollmentToken: 'file-token-0123456789', logLevel: 'warn', simulate: 'vmm', maxConcurrentJobs: 2 });
    const fromFile = parseCommandLine(['run', '--state-dir', dir]);
    expect(fromFile).toMatchObject({ config: { server: 'http://file.example:3000', enrollmentToken: 'file-token-0123456789', logLevel: 'warn', simulate: 'vmm', maxConcurrentJobs: 2 } });
    const flagsWin = parseCommandLine(['run', '--state-dir', dir, '--server', 'http://flag.example', '--log-level', 'error', '--simulate', 'wsl', '--max-concurrent-jobs', '8']);
    expect(flagsWin).toMatchObject({ config: { server: 'http://flag.example', enrollmentToken: 'file-token-0123456789', logLevel: 'error', simulate: 'wsl', maxConcurrentJobs: 8 } });
  });

  it('explains bad values', () => {
    const bad = (args: string[]) => () => parseCommandLine(['run', '--state-dir', dir, ...args]);
    expect(bad([])).toThrow(/no server given/);
    expect(bad(['--server', 'fleet.example.org'])).toThrow(/not a URL/);
    expect(bad(['--server', 'ftp://fleet.example.org'])).toThrow(/http:\/\/ or https:\/\//);
    expect(bad(['--server', 'https://fleet.example.org/agent'])).toThrow(/must not have a path/);
    expect(bad(['--server', 'http://x', '--simulate', 'xen'])).toThrow(/simulate must be one of kvm, vmm, wsl/);
    expect(bad(['--server', 'http://x', '--log-level', 'loud'])).toThrow(/log level must be one of/);
    expect(bad(['--server', 'http://x', '--enrollment-token', 'short'])).toThrow(/enrollment token/);
    expect(bad(['--server', 'http://x', '--max-concurrent-jobs', '0'])).toThrow(/max concurrent jobs/);
    expect(bad(['--server', 'http://x', '--bogus'])).toThrow(UsageError);
    expect(() => parseCommandLine(['launch'])).toThrow(/unknown command "launch"/);
  });

  it('refuses a malformed or misspelt agent.json', () => {
    writeFileSync(path.join(dir, 'agent.json'), '{ "server": ');
    expect(() => loadConfigFile(dir)).toThrow(/agent.json is not valid JSON/);
    writeConfig({ sever: 'http://x' });
    expect(() => loadConfigFile(dir)).toThrow(/unknown setting\(s\) sever/);
    writeConfig({ server: 42 });
    expect(() => loadConfigFile(dir)).toThrow(/server must be a string/);
    writeConfig([]);
    expect(() => loadConfigFile(dir)).toThrow(/must hold a JSON object/);
  });

  it('knows help, version and fingerprint', () => {
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['run', '--help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ command: 'version' });
    expect(parseCommandLine(['fingerprint', '--state-dir', dir])).toEqual({ command: 'fingerprint', stateDir: dir });
  });

  it('keeps only the origin of the server URL', () => {
    expect(parseServerUrl('HTTPS://Fleet.Example.org:8443')).toBe('https://fleet.example.org:8443');
    expect(() => parseServerUrl('https://user:pw@fleet.example.org')).toThrow(/credentials/);
  });
});
