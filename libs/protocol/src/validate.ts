import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationError } from 'class-validator';
import { MAX_MESSAGE_BYTES } from './version';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

type Ctor<T> = new () => T;

function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => `${path}: ${m}`);
    return [...own, ...describe(e.children ?? [], path)];
  });
}

/** Size of a payload as it crossed the wire (approximate for non-JSON values). */
export function payloadSize(raw: unknown): number {
  if (raw === undefined) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(raw) ?? '', 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

type RuleLookup = (target: object, schema: string, always: boolean, strictGroups: boolean, groups?: string[]) => unknown[];

/**
 * class-validator looks a class's rules up again for every object it validates: it filters the
 * rules of the class and scans every class with rules for parents, allocating new arrays each time
 * (a fifth of the server's allocations under load, with the agents' facts nested several levels
 * deep). Rules change only when a decorated class is defined, so the answer is kept per class and
 * options until a rule is added. Lookups with groups (not used here) go through unchanged.
 */
function keepRuleLookups(): void {
  const storage = getMetadataStorage() as unknown as { getTargetValidationMetadatas: RuleLookup; addValidationMetadata: (m: unknown) => void };
  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  let kept = new WeakMap<object, Map<string, unknown[]>>();
  storage.addValidationMetadata = (m) => {
    kept = new WeakMap();
    add(m);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (groups?.length) return lookup(target, schema, always, strictGroups, groups);
    const key = `${schema}\n${always}\n${strictGroups}`;
    let byOptions = kept.get(target);
    if (!byOptions) kept.set(target, (byOptions = new Map()));
    let rules = byOptions.get(key);
    if (!rules) byOptions.set(key, (rules = lookup(target, schema, always, strictGroups, groups)));
    return rules;
  };
}
keepRuleLookups();

/** Whether a class has validation rules; decorators register them once, at class definition. */
const rulesOf = new WeakMap<Ctor<object>, boolean>();
function hasRules(cls: Ctor<object>): boolean {
  let has = rulesOf.get(cls);
  if (has === undefined) rulesOf.set(cls, (has = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).length > 0));
  return has;
}

/**
 * The one validation path for every message that crosses the server/agent boundary:
 * size limit, plain-object check, class-validator with unknown fields refused.
 */
export function parsePayload<T extends object>(cls: Ctor<T>, raw: unknown, maxBytes = MAX_MESSAGE_BYTES): Parsed<T> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: `${cls.name}: payload must be an object` };
  }
  const size = payloadSize(raw);
  if (size > maxBytes) return { ok: false, error: `${cls.name}: payload of ${size} bytes exceeds ${maxBytes}` };
  // A class without rules (a command that takes no parameters) accepts exactly `{}`: class-validator
  // would refuse every value of it as unknown.
  if (!hasRules(cls)) {
    const keys = Object.keys(raw);
    return keys.length === 0 ? { ok: true, value: new cls() } : { ok: false, error: `${cls.name}: takes no fields (got ${keys.slice(0, 10).join(', ')})` };
  }
  const value = plainToInstance(cls, raw, { enableImplicitConversion: false });
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) return { ok: false, error: `${cls.name}: ${describe(errors).join('; ')}` };
  return { ok: true, value };
}
