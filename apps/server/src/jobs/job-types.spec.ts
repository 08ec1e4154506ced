import { Command } from '@sysfleet/protocol';
import { JobTypes, parseDeadlines } from './job-types';

describe('JobTypes deadlines', () => {
  const types = () => {
    const t = new JobTypes();
    t.register({ type: Command.InventoryRefresh, deadlineSeconds: 600, maxRunSeconds: 300 });
    t.register({ type: Command.ChildCreate, deadlineSeconds: 3600, maxRunSeconds: 3600 });
    return t;
  };

  it('uses a configured deadline for a registered type', () => {
    const t = types();
    t.setDeadlineOverrides(parseDeadlines('inventory.refresh=30'));
    expect(() => t.onApplicationBootstrap()).not.toThrow();
    expect(t.deadlineSeconds(t.get(Command.InventoryRefresh)!)).toBe(30);
    expect(t.deadlineSeconds(t.get(Command.ChildCreate)!)).toBe(3600);
  });

  it('refuses to start with a deadline for an unknown type, naming it', () => {
    const t = types();
    t.setDeadlineOverrides(parseDeadlines('inventory.refresh=30,inventory.refrsh=60'));
    expect(() => t.onApplicationBootstrap()).toThrow('JOB_DEADLINES: unknown job type "inventory.refrsh"; known types: child.create, inventory.refresh');
  });
});
