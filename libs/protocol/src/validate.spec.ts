import { IsInt, IsString, Min, registerDecorator, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { HelloPayload, InventoryRefreshParams, JobProgressPayload, parsePayload } from './index';

const facts = {
  hostname: 'web-1', fqdn: 'web-1.example.org', platform: 'linux', osName: 'Debian GNU/Linux', osVersion: '12',
  kernel: '6.1.0', arch: 'x64', cpuModel: 'AMD EPYC', cpuCount: 2, memoryTotalBytes: 1024, memoryFreeBytes: 512,
  disks: [{ mount: '/', sizeBytes: 10, freeBytes: 5 }], interfaces: [{ name: 'eth0', addresses: ['10.0.0.2'] }], agentVersion: '0.1.0',
};

describe('parsePayload', () => {
  it('accepts a valid hello', () => {
    const r = parsePayload(HelloPayload, { facts });
    expect(r.ok).toBe(true);
  });

  it('names the bad nested field', () => {
    const r = parsePayload(HelloPayload, { facts: { ...facts, cpuCount: 0 } });
    expect(r).toEqual({ ok: false, error: expect.stringContaining('facts.cpuCount') });
  });

  it('refuses unknown fields, non-objects and oversized payloads', () => {
    expect(parsePayload(HelloPayload, { facts, extra: 1 }).ok).toBe(false);
    expect(parsePayload(HelloPayload, 'hello').ok).toBe(false);
    expect(parsePayload(HelloPayload, [facts]).ok).toBe(false);
    const big = { jobId: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', seq: 1, step: 's', message: 'x'.repeat(300_000), at: new Date().toISOString() };
    expect(parsePayload(JobProgressPayload, big)).toEqual({ ok: false, error: expect.stringContaining('exceeds') });
  });

  it('accepts exactly {} for a command without parameters', () => {
    expect(parsePayload(InventoryRefreshParams, {}).ok).toBe(true);
    expect(parsePayload(InventoryRefreshParams, { rm: '-rf' })).toEqual({ ok: false, error: expect.stringContaining('takes no fields') });
  });

  it('applies rules of classes defined after earlier validations, and of their parents', () => {
    class Base {
      @IsString() name!: string;
    }
    expect(parsePayload(Base, { name: 'a' }).ok).toBe(true);
    expect(parsePayload(Base, { name: 1 }).ok).toBe(false);
    // Defined after Base's rules were looked up: its own rule and the inherited one both hold.
    class Sized extends Base {
      @IsInt() @Min(1) size!: number;
    }
    class Outer {
      @ValidateNested() @Type(() => Sized) inner!: Sized;
    }
    expect(parsePayload(Outer, { inner: { name: 'a', size: 2 } }).ok).toBe(true);
    expect(parsePayload(Outer, { inner: { name: 'a', size: 0 } })).toEqual({ ok: false, error: expect.stringContaining('inner.size') });
    expect(parsePayload(Outer, { inner: { name: 3, size: 2 } })).toEqual({ ok: false, error: expect.stringContaining('inner.name') });
    // Base is unchanged by its subclass.
    expect(parsePayload(Base, { name: 'a', size: 0 })).toEqual({ ok: false, error: expect.stringContaining('size should not exist') });
    // A rule added to a class already looked up applies from then on.
    expect(parsePayload(Base, { name: 'forbidden' }).ok).toBe(true);
    registerDecorator({ target: Base, propertyName: 'name', constraints: [], options: { message: 'name is forbidden' }, validator: { validate: (v: unknown) => v !== 'forbidden' } });
    expect(parsePayload(Base, { name: 'forbidden' })).toEqual({ ok: false, error: expect.stringContaining('name is forbidden') });
  });
});
