/**
 * The pacman tests again, with pacman 7. This machine's pacman is Debian 12's 6.0; Arch and Debian
 * 13 run 7, whose repo-add no longer embeds `%PGPSIG%` in the database (signatures are only the
 * `.sig` files). `.ci/pacman7` builds a Debian 13 image with pacman 7; every
 * `test/integration/pacman-*.test.ts` runs in it with this checkout's Node, with no network at
 * all (`--network none`: loopback only).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
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
  const node = realpathSync(process.execPath);
  if (relative(REPO, node).startsWith('..')) return `this Node (${node}) is not inside the checkout; scripts/setup's .node/ is what the image can run`;
  return undefined;
}

test('the pacman tests pass with pacman 7 as with pacman 6', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const files = (await readdir(join(REPO, 'test', 'integration'))).filter((f) => /^pacman-.*\.test\.ts$/.test(f)).map((f) => `test/integration/${f}`);
  assert.ok(files.length >= 3, files.join(' '));
  const version = await run('docker', ['run', '--rm', IMAGE, 'repo-add', '--version']);
  assert.match(version.stdout, /repo-add \(pacman\) 7\./, 'the image has pacman 7');
  const r = await run('docker', [
    'run', '--rm', '--privileged', '--network', 'none', '-v', `${REPO}:${REPO}`, '-w', REPO, '-e', 'HOME=/tmp',
    IMAGE, realpathSync(process.execPath), '--test', '--test-reporter=spec', '--test-concurrency=1', ...files,
  ], { timeoutMs: 900_000 });
  const summary = r.stdout.split('\n').filter((l) => /^ℹ (tests|pass|fail|skipped) /.test(l)).map((l) => l.slice(2));
  t.diagnostic(`with pacman 7: ${summary.join(', ')}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ℹ fail 0$/m);
  assert.doesNotMatch(r.stdout, /^ℹ skipped [1-9]/m, 'nothing skipped: the image has every tool the pacman tests need');
});
