/**
 * The tests that drive pacman, again with pacman 7. This machine's pacman is Debian 12's 6.0; Arch
 * and Debian 13 run 7, whose repo-add no longer embeds `%PGPSIG%` in the database (signatures are
 * only the `.sig` files). `.ci/pacman7` builds a Debian 13 image with pacman 7 (and the pip,
 * skopeo and registry those tests also use); every integration test that uses the pacman tools —
 * `pacman-*.test.ts` and whatever imports the pacman fixtures — runs in it with this Node, with no network at all (`--network none`: loopback only).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dockerMissing } from '../helpers/docker.ts';
import { run } from '../helpers/run.ts';

const IMAGE = 'offline-test/pacman7:trixie';
const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

async function missing(): Promise<string | undefined> {
  const docker = await dockerMissing();
  if (docker) return docker;
  if ((await run('docker', ['image', 'inspect', IMAGE])).code !== 0) return `the image ${IMAGE} is not built (bash .ci/pacman7 builds it)`;
  return undefined;
}

test('the tests that drive pacman pass with pacman 7 as with pacman 6', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const dir = join(REPO, 'test', 'integration');
  const files: string[] = [];
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.test.ts')).sort()) {
    if (f.startsWith('pacman-') || (await readFile(join(dir, f), 'utf8')).includes('/helpers/pacman-fixtures.ts')) files.push(`test/integration/${f}`);
  }
  assert.ok(files.length >= 6, files.join(' '));
  t.diagnostic(`with pacman 7: ${files.join(' ')}`);
  // This machine's npm, read-only, for the tests that run npm too, behind a shim that runs its
  // npm-cli.js with this checkout's node.
  // This Node, read-only (Node's own builds link only glibc, so they run in the image as here).
  const nodeDir = dirname(realpathSync(process.execPath));
  const npmCli = realpathSync((await run('sh', ['-c', 'command -v npm'])).stdout.trim());
  const npm = dirname(dirname(npmCli));
  const shims = join(REPO, '.tmp', 'pacman7-bin');
  await mkdir(shims, { recursive: true });
  await writeFile(join(shims, 'npm'), `#!/bin/sh\nexec node '${npmCli}' "$@"\n`, { mode: 0o755 });
  const path = [join(REPO, '.node', 'bin'), dirname(process.execPath), shims, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
  const version = await run('docker', ['run', '--rm', IMAGE, 'repo-add', '--version']);
  assert.match(version.stdout, /repo-add \(pacman\) 7\./, 'the image has pacman 7');
  const r = await run('docker', [
    'run', '--rm', '--privileged', '--network', 'none', '-v', `${REPO}:${REPO}`, '-v', `${npm}:${npm}:ro`, '-v', `${nodeDir}:${nodeDir}:ro`, '-w', REPO, '-e', 'HOME=/tmp', '-e', `PATH=${path}`,
    IMAGE, realpathSync(process.execPath), '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-force-exit', ...files,
  ], { timeoutMs: 900_000 });
  const summary = r.stdout.split('\n').filter((l) => /^ℹ (tests|pass|fail|skipped) /.test(l)).map((l) => l.slice(2));
  t.diagnostic(`with pacman 7: ${summary.join(', ')}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ℹ fail 0$/m);
  assert.doesNotMatch(r.stdout, /^ℹ skipped [1-9]/m, 'nothing skipped: the image has every tool these tests need');
});
