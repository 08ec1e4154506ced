import type { TFunction } from 'i18next';
import { COMMAND_NAMES } from '../../../libs/protocol/src/events';

/** Job types are the agent command names from the protocol. */
export const COMMAND_TYPES: readonly string[] = COMMAND_NAMES;

/** i18next splits keys on ".", so "child.create" is looked up as jobType.child_create. */
export function jobTypeLabel(t: TFunction, type: string): string {
  return t(`jobType.${type.replace(/\./g, '_')}`, { defaultValue: type });
}
