// Bundles the bench entry points into test/bench/dist/*.cjs so they run on plain node (no TS runtime).
// test/support/*.ts find the repository from their own __dirname: it is pinned to their source
// folder here, since in a bundle __dirname would be dist/.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const pinDirname = {
  name: 'pin-dirname',
  setup(b) {
    b.onLoad({ filter: /[\\/]test[\\/]support[\\/][^\\/]+\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))),
      loader: 'ts',
    }));
  },
};

await build({
  entryPoints: Object.fromEntries(['run', 'load-agent', 'raw-server', 'cpu-profile-preload', 'profile-summary'].map((name) => [name, path.join(here, `${name}.ts`)])),
  outdir: path.join(here, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // Optional native add-ons of ws and pg: the pure-JS paths are used when absent.
  external: ['bufferutil', 'utf-8-validate', 'pg-native', '*.node'],
  tsconfig: path.join(root, 'tsconfig.base.json'),
  plugins: [pinDirname],
  logLevel: 'warning',
});
