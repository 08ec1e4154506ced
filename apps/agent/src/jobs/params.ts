import { getMetadataStorage } from 'class-validator';
import { parsePayload, Parsed } from '@sysfleet/protocol';

/**
 * Validates a command's params with its class. parsePayload() refuses every value for a class without
 * any validation rule (class-validator's forbidUnknownValues), so a command that takes no parameters
 * (e.g. InventoryRefreshParams) is checked here: it accepts exactly `{}`.
 */
export function parseParams<P extends object>(cls: new () => P, raw: unknown): Parsed<P> {
  const rules = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  if (rules.length > 0) return parsePayload(cls, raw);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, error: `${cls.name}: payload must be an object` };
  const keys = Object.keys(raw);
  if (keys.length > 0) return { ok: false, error: `${cls.name}: this command takes no parameters (got ${keys.slice(0, 10).join(', ')})` };
  return { ok: true, value: new cls() };
}
