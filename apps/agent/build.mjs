// Bundles the agent into one CommonJS file that runs on Node >= 18 with nothing installed,
// so a fresh guest can fetch it from the server and run it.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';

const outfile = new URL('./dist/sysfleet-agent.cjs', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  define: { 'process.env.SYSFLEET_AGENT_VERSION': JSON.stringify(pkg.version) },
  // Optional native speed-ups of ssh2 and ws: the pure-JS fallbacks are used when absent.
  external: ['cpu-features', '*.node', 'bufferutil', 'utf-8-validate'],
  tsconfig: new URL('../../tsconfig.base.json', import.meta.url).pathname,
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
const sha = createHash('sha256').update(readFileSync(outfile)).digest('hex');
writeFileSync(outfile + '.sha256', `${sha}  sysfleet-agent.cjs\n`);
