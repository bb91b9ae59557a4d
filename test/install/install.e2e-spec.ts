import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/node-process';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const WORKSPACES = ['libs/protocol', 'libs/client', 'libs/duplex'];

/** The README's install commands and its code blocks that name a file (the example app, and every example that compiles with it). */
function readmeSection() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, lang, body]) => ({ lang, body }));
  const installs = blocks
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.body.split('\n'))
    .filter((line) => line.startsWith('npm install'));
  const files = blocks.flatMap(({ body }) => {
    const named = /^\/\/ ([\w./-]+\.(?:ts|json))\n/.exec(body);
    return named ? [{ path: named[1], body }] : [];
  });
  return { installs, files };
}

/**
 * What a user outside this repository does: installs the packed packages (no registry for
 * them) into a fresh folder, writes the README's files, builds them with the README's
 * tsconfig, starts the service and runs the client.
 */
describe('the packages, installed as a user installs them', () => {
  const app = mkdtempSync(join(tmpdir(), 'nest-duplex-install-'));
  const packs = join(app, 'packs');
  const { installs, files } = readmeSection();
  let server: ChildProcess | undefined;
  let serverLog = '';

  beforeAll(async () => {
    mkdirSync(packs);
    const workspaces = WORKSPACES.flatMap((w) => ['-w', w]);
    await run('npm', ['pack', '--pack-destination', packs, ...workspaces], { cwd: ROOT });
    const tarballs = Object.fromEntries(
      readdirSync(packs).map((file) => [`@nest-duplex/${/^nest-duplex-(\w+)-/.exec(file)![1]}`, join(packs, file)]),
    );
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'greeter-app', private: true, overrides: { 'file-type': '~21.3.4' } }, null, 2),
    );
    for (const line of installs) {
      const words = line.split(/\s+/).slice(2).map((word) => tarballs[word] ?? word);
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...words], { cwd: app });
    }
    for (const file of files) {
      mkdirSync(dirname(join(app, file.path)), { recursive: true });
      writeFileSync(join(app, file.path), file.body);
    }
  }, 300_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(app, { recursive: true, force: true });
  });

  it('finds in the README the install commands and every file of the example', () => {
    expect(installs.length).toBeGreaterThan(0);
    expect(files.map((f) => f.path).sort()).toEqual(
      [
        'src/app.module.ts',
        'src/direct-messages.service.ts',
        'src/greeter-client.ts',
        'src/greeter.contract.ts',
        'src/greeter.service.ts',
        'src/lobby-announcer.ts',
        'src/lobby-poll.ts',
        'src/main.ts',
        'src/raw-announcer.ts',
        'src/secure-app.module.ts',
        'src/vault.service.ts',
        'tsconfig.json',
      ],
    );
  });

  it('installs each package with its declarations and nothing of this repository besides', () => {
    for (const name of ['protocol', 'client', 'server']) {
      const dir = join(app, 'node_modules', '@nest-duplex', name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(manifest.types).toBe('dist/index.d.ts');
      expect(readdirSync(dir).sort()).toEqual(['README.md', 'dist', 'package.json', 'src']);
      expect(readdirSync(join(dir, 'src'), { recursive: true }).some((f) => String(f).endsWith('.spec.ts'))).toBe(false);
    }
  });

  it('compiles the README example with the README tsconfig', async () => {
    // tsc reports on stdout: a failure says what did not compile.
    await run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app }).catch((error: { stdout?: string; message: string }) => {
      throw new Error(`${error.message}\n${error.stdout ?? ''}`);
    });
  }, 120_000);

  it('serves the example, and its client gets its callbacks', async () => {
    const port = await freePort();
    const { AMQP_URL: _cluster, ...env } = process.env; // one node on the in-memory bus, as the README runs it
    server = spawn(process.execPath, ['dist/main.js'], { cwd: app, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (chunk) => (serverLog += chunk));
    server.stderr!.on('data', (chunk) => (serverLog += chunk));
    const url = `http://127.0.0.1:${port}`;
    for (let tries = 0; !(await fetch(url).then(() => true, () => false)); tries++) {
      if (tries > 100 || server.exitCode !== null) throw new Error(`the example service did not start:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const { stdout } = await run(process.execPath, ['dist/greeter-client.js'], { cwd: app, env: { ...process.env, GREETER_URL: url }, timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(['ada was asked "join as ada?"', 'guests: 1', 'guests: 2', 'ada heard bob: hello']);
  }, 60_000);

  it('bundles the client for a browser with none of the server, and without zod', async () => {
    const { build } = await import('esbuild');
    const entry = join(app, 'browser-entry.js');
    writeFileSync(entry, "export { DuplexClient } from '@nest-duplex/client';\n");
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', write: false, metafile: true, minify: true, absWorkingDir: app, logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('@nest-duplex/client'))).toBe(true);
    expect(inputs.filter((i) => /@nest-duplex\/server|@nestjs|amqplib|zod/.test(i))).toEqual([]);
  });
});
