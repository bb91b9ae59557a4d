// Bundles the demo page (apps/demo/web) for the browser into dist/apps/demo/web,
// where each demo node serves it at `/`.
const { build } = require('esbuild');
const { cpSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'apps', 'demo', 'web');
const target = join(__dirname, '..', 'dist', 'apps', 'demo', 'web');

async function main() {
  mkdirSync(target, { recursive: true });
  await build({
    entryPoints: [join(source, 'main.ts')],
    outfile: join(target, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['es2020'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'style.css']) cpSync(join(source, file), join(target, file));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
