/**
 * virsh's table layout (vsh-table.c), matched against captures from libvirt-clients 9.0:
 * one leading space, columns padded to their widest cell and joined by three spaces, the last
 * column unpadded, and a dash line two longer than the padded row. (The blank line after it is virsh's own,
 * printed after every command.)
 */
export function virshTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => ' ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  const dashes = '-'.repeat(1 + widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1) + 2);
  return [line(header), dashes, ...rows.map(line), ''].join('\n');
}

/** `%-Ns` */
export function padRight(s: string, n: number): string {
  return s.padEnd(n);
}

/** `%Ns` */
export function padLeft(s: string, n: number): string {
  return s.padStart(n);
}

/** OpenBSD fmt_scaled(3): "512M", "1.0G", "20.0G" — one decimal below 100 units. */
export function fmtScaled(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes}B`;
  if (value >= 100) return `${Math.round(value)}${units[unit]}`;
  return `${value.toFixed(1)}${units[unit]}`;
}
