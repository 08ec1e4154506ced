import { InventoryRefreshParams, VirtualizationInitializeParams } from '@sysfleet/protocol';
import { parseParams } from './params';

describe('parseParams', () => {
  it('accepts exactly {} for a command without parameters', () => {
    expect(parseParams(InventoryRefreshParams, {})).toEqual({ ok: true, value: expect.any(InventoryRefreshParams) });
    expect(parseParams(InventoryRefreshParams, { force: true })).toEqual({ ok: false, error: expect.stringContaining('takes no parameters (got force)') });
    expect(parseParams(InventoryRefreshParams, [])).toMatchObject({ ok: false });
  });

  it('validates a class with rules through parsePayload (unknown fields refused)', () => {
    expect(parseParams(VirtualizationInitializeParams, { type: 'kvm' })).toMatchObject({ ok: true, value: { type: 'kvm' } });
    expect(parseParams(VirtualizationInitializeParams, { type: 'kvm', x: 1 })).toMatchObject({ ok: false });
    expect(parseParams(VirtualizationInitializeParams, { type: 'hyperv' })).toMatchObject({ ok: false });
  });
});
