import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_NAMES } from '../../../../libs/protocol/src/events';
import { CHILD_STATES, HOST_ROLES, HOST_STATUSES, HYPERVISOR_NETWORK_MODES, HYPERVISOR_TYPES, JOB_STATUSES, ROLES } from '../types';
import { NETWORK_MODES } from '../pages/VirtualizationPanel';
import { en } from './locales/en';
import { RESOURCES } from './index';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
const english = flatten(en);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'locales' ? [] : sourceFiles(path);
    return /\.tsx?$/.test(name) && !/\.spec\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('translations', () => {
  it.each(Object.keys(RESOURCES).filter((code) => code !== 'en'))('%s has every English key, no others, each translated', (code) => {
    const strings = flatten(RESOURCES[code as keyof typeof RESOURCES] as Tree);
    expect([...strings.keys()].sort()).toEqual([...english.keys()].sort());
    for (const [key, text] of strings) {
      expect({ key, empty: text.trim() === '' }).toEqual({ key, empty: false });
      // A translation must keep the values it shows: {{count}} in English means {{count}} here.
      expect({ key, placeholders: placeholders(text) }).toEqual({ key, placeholders: placeholders(english.get(key)!) });
    }
    // Names like "KVM" or "SHA-256" stay as they are; anything more means the locale was not translated.
    const same = [...strings].filter(([key, text]) => text === english.get(key)).length;
    expect(same / strings.size).toBeLessThan(0.1);
  });

  it('every literal key used in the source exists in English', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(__dirname, '..'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
      for (const m of text.matchAll(/\bkey: '([\w.]+)'/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(200);
    expect([...used].filter((key) => !english.has(key))).toEqual([]);
  });

  it('every value shown through a computed key has a string', () => {
    const groups: [string, readonly string[]][] = [
      ['hostStatus', HOST_STATUSES], ['jobStatus', JOB_STATUSES], ['childState', CHILD_STATES],
      ['hypervisor', HYPERVISOR_TYPES], ['hostRole', HOST_ROLES], ['roles', ROLES], ['online', ['online', 'offline']],
      ['jobType', COMMAND_NAMES.map((c) => c.replace(/\./g, '_'))], ['theme', ['system', 'light', 'dark']],
      ['virt.mode', [...Object.values(NETWORK_MODES).flat(), ...HYPERVISOR_NETWORK_MODES]],
      ['host', ['approve', 'reject', 'revoke', 'delete', 'rejectTitle', 'rejectMessage', 'revokeTitle', 'revokeMessage', 'deleteTitle', 'deleteMessage']],
      ['audit', ['actor', 'action', 'targetType', 'outcome', 'since', 'until']],
    ];
    const missing = groups.flatMap(([group, values]) => values.map((v) => `${group}.${v}`)).filter((key) => !english.has(key));
    expect(missing).toEqual([]);
  });
});
