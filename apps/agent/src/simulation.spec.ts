import { checkSimulationEnvironment, startSimulation } from './simulation';

describe('simulation', () => {
  const env = { platform: 'windows', osName: 'Microsoft Windows 11 Pro', osVersion: '10.0.22631', kernel: '10.0.22631', hostRoot: '/tmp/sim', env: { SYSFLEET_TEST_SIM_VAR: '/tmp/sim/state' } };
  afterEach(() => delete process.env.SYSFLEET_TEST_SIM_VAR);

  it('applies the simulator env to this process', () => {
    const calls: unknown[] = [];
    const sim = startSimulation('wsl', '/tmp/state', (kind, dir) => {
      calls.push([kind, dir]);
      return env;
    });
    expect(calls).toEqual([['wsl', '/tmp/state']]);
    expect(sim.platform).toBe('windows');
    expect(process.env.SYSFLEET_TEST_SIM_VAR).toBe('/tmp/sim/state');
  });

  it('refuses a malformed environment', () => {
    expect(() => checkSimulationEnvironment({ ...env, platform: 'solaris' })).toThrow(/platform/);
    expect(() => checkSimulationEnvironment({ ...env, env: { PATH: 1 } })).toThrow(/env/);
    expect(() => checkSimulationEnvironment(null)).toThrow(/not an object/);
  });
});
