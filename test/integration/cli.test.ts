/**
 * The command line as a user meets it: the built entry point, help that teaches, errors without
 * stack traces, and `serve` stopping cleanly on a signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const BIN = fileURLToPath(new URL('../../bin/offline.js', import.meta.url));

test('the built bin runs and its help names every command and the common flags', async (t) => {
  const built = await run(process.execPath, [BIN, '--help'], { env: process.env });
  if (/Cannot find module .*dist/.test(built.stderr)) return t.skip('dist/ is not built (npm run build; npm test builds it)');
  assert.equal(built.code, 0, built.stderr);
  for (const command of ['sync', 'serve', 'status']) assert.match(built.stdout, new RegExp(`\\b${command}\\b`));
  for (const command of ['sync', 'serve', 'status']) {
    const help = await offline([command, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /-c, --config <file>/);
    assert.match(help.stdout, /--json/);
  }
});

test('a missing config file is one clear line, exit 2, no stack trace', async () => {
  const dir = await workDir('cli-');
  const r = await offline(['status', '-c', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.yaml: invalid configuration\n\s+file not found; create it/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const json = await offline(['status', '-c', join(dir, 'nope.yaml'), '--json']);
  assert.equal(JSON.parse(json.stdout).error.code, 'OFFLINE_ERR_CONFIG');
});

test('serve on an address that is not on this machine explains what to do', async () => {
  const dir = await workDir('cli-');
  // 10.1.1.254 is the default mirror address: binding fails locally, nothing is sent anywhere.
  await writeFile(join(dir, 'offline.yaml'), 'data: ./m\nnpm: {}\n');
  const r = await offline(['serve'], { cwd: dir, env: { OFFLINE_CONFIG: '' } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /10\.1\.1\.254:4873: the address is not on this machine\. Run `offline up`.*--listen 127\.0\.0\.1/);
});

test('serve runs until SIGTERM, then closes and exits 0', async () => {
  const dir = await workDir('cli-');
  await writeFile(join(dir, 'offline.yaml'), 'data: ./m\nlisten: 127.0.0.1\nnpm: { port: 4873 }\n');
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), 'serve', '--json'], {
    cwd: dir, env: { ...process.env, OFFLINE_NPM_PORT: String(await claimPorts()), OFFLINE_CONFIG: '' },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  for (let i = 0; i < 100 && !out.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  const { serving, uid } = JSON.parse(out.split('\n')[0]!) as { serving: Array<{ name: string; url: string }>; uid: number };
  assert.equal(serving[0]!.name, 'npm');
  if (process.getuid?.() === 0) {
    // Started by root, the mirrors bind and then serve as nobody (the data belongs to root).
    assert.notEqual(uid, 0);
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'), 'real, effective, saved and fs uid all dropped');
  }
  assert.equal((await fetch(`${serving[0]!.url}-/ping`)).status, 200);
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, out);
});

test('serve, status and env act on the mirrors the config has a section for; --all on all four', async () => {
  const dir = await workDir('cli-');
  // Port 5000 (the Docker mirror's default) held by someone else must not stop an npm-only config.
  const squatter = createServer(() => undefined);
  const squatting = await new Promise<boolean>((resolve) => {
    squatter.once('error', () => resolve(false)).listen(5000, '127.0.0.1', () => resolve(true));
  });
  try {
    const npmPort = await claimPorts();
    await writeFile(join(dir, 'offline.yaml'), `data: ./m\nlisten: 127.0.0.1\nnpm: { port: ${npmPort} }\n`);
    const child = spawn(process.execPath, [CLI, 'serve', '--json'], { cwd: dir, env: { ...process.env, OFFLINE_CONFIG: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 100 && !out.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
    try {
      const { serving } = JSON.parse(out.split('\n')[0]!) as { serving: Array<{ name: string; url: string }> };
      assert.deepEqual(serving.map((m) => m.name), ['npm'], out);
      assert.equal((await fetch(`${serving[0]!.url}-/ping`)).status, 200);

      const status = JSON.parse((await offline(['status', '--json'], { cwd: dir, env: { OFFLINE_CONFIG: '' } })).stdout);
      assert.deepEqual(status.mirrors.map((m: { name: string }) => m.name), ['npm']);
      assert.equal(status.mirrors[0].serving, true);
      assert.deepEqual(status.unconfigured, ['pypi', 'pacman', 'docker']);
      const text = await offline(['status'], { cwd: dir, env: { OFFLINE_CONFIG: '' } });
      assert.doesNotMatch(text.stdout, /^(pypi|pacman|docker):/m);
      assert.match(text.stdout, /not configured: pypi, pacman, docker/);
      const all = JSON.parse((await offline(['status', '--all', '--json'], { cwd: dir, env: { OFFLINE_CONFIG: '' } })).stdout);
      assert.deepEqual(all.mirrors.map((m: { name: string }) => m.name), ['npm', 'pypi', 'pacman', 'docker']);
      assert.deepEqual(all.unconfigured, []);

      // Clients are pointed only at what is served: no pip index that would not answer.
      const env = await offline(['env', '--address', '127.0.0.1'], { cwd: dir, env: { OFFLINE_CONFIG: '' } });
      assert.match(env.stdout, new RegExp(`npm_config_registry=.*:${npmPort}/`));
      assert.doesNotMatch(env.stdout, /PIP_INDEX_URL/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    if (squatting) await new Promise((r) => squatter.close(r));
  }
});

test('serve with no mirror section says what to add', async () => {
  const dir = await workDir('cli-');
  await writeFile(join(dir, 'offline.yaml'), 'data: ./m\nlisten: 127.0.0.1\n');
  const r = await offline(['serve'], { cwd: dir, env: { OFFLINE_CONFIG: '' } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /names no mirror: add a section \(npm:, pypi:, pacman:, docker:\) or serve every mirror with --all/);
});
