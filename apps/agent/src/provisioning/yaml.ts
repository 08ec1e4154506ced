/**
 * The little YAML the guest seeds need: block maps and lists of strings, numbers and booleans. No
 * yaml package is a dependency of the agent, and this keeps the bundle small. Strings are written
 * plain only when no YAML 1.1 reader (cloud-init uses PyYAML) can take them for anything but a string;
 * everything else is double-quoted with every non-printable character escaped.
 */
export type YamlScalar = string | number | boolean;
export type YamlValue = YamlScalar | YamlValue[] | YamlMap;
export interface YamlMap {
  [key: string]: YamlValue | undefined;
}

// Words YAML 1.1 reads as booleans or null in any case, e.g. a user called "no" or "null".
const RESERVED = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);
// A letter or "/" first rules out numbers, timestamps, ".inf" and every indicator (- ? : , [ ] { } # & * ! | > ' " % @ `).
const PLAIN = /^[A-Za-z/][A-Za-z0-9_./@+=-]*$/;

export function yamlScalar(value: YamlScalar): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (PLAIN.test(value) && !RESERVED.has(value.toLowerCase())) return value;
  return quote(value);
}

function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    // C0/C1 controls, DEL, line/paragraph separators, BOM and lone surrogates are not printable YAML.
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || code === 0xfeff) out += '\\u' + code.toString(16).padStart(4, '0');
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

function isMap(v: YamlValue): v is YamlMap {
  return typeof v === 'object' && !Array.isArray(v);
}

/** A block-style YAML document body for `map`; keys whose value is undefined are left out. */
export function toYaml(map: YamlMap, indent = 0): string {
  const pad = ' '.repeat(indent);
  let out = '';
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    const k = `${pad}${yamlScalar(key)}:`;
    if (Array.isArray(value)) out += value.length ? `${k}\n${listToYaml(value, indent + 2)}` : `${k} []\n`;
    else if (isMap(value)) out += Object.values(value).some((v) => v !== undefined) ? `${k}\n${toYaml(value, indent + 2)}` : `${k} {}\n`;
    else out += `${k} ${yamlScalar(value)}\n`;
  }
  return out;
}

function listToYaml(list: YamlValue[], indent: number): string {
  const pad = ' '.repeat(indent);
  let out = '';
  for (const item of list) {
    if (Array.isArray(item)) {
      out += item.length ? `${pad}-\n${listToYaml(item, indent + 2)}` : `${pad}- []\n`;
    } else if (isMap(item)) {
      const body = toYaml(item, indent + 2);
      // The first key goes on the dash's line: "- name: x", the rest stay indented under it.
      out += body ? `${pad}- ${body.slice(indent + 2)}` : `${pad}- {}\n`;
    } else {
      out += `${pad}- ${yamlScalar(item)}\n`;
    }
  }
  return out;
}
