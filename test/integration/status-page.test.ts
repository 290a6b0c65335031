/**
 * The status page in a real browser (headless Chromium, loopback only): `offline serve` of a
 * synced config with all four mirror sections starts the controller; the page opened with its
 * `?token=` link drops the token from the address, shows each mirror with the counts `status()`
 * gives, the misses, and a sync of the misses started with its button, followed live to its
 * report. A screenshot goes to a temporary directory, or with OFFLINE_SCREENSHOT=docs/status-page.png
 * to the README's picture (run from the repository's root).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, chown, copyFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { readControllerToken } from '../../src/core/controller-access.ts';
import { status } from '../../src/core/status.ts';
import { loadConfig, type Config } from '../../src/ecosystems/config.ts';
import { updateLedger } from '../../src/engine/misses.ts';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { makeWheel, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = await access(CHROMIUM).then(() => undefined, () => `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`);
/** Asked for by a client while offline, and in the fixture registry: the page's button fetches it. */
const MISSED = 'pkg-1@1.0.0';

let work: string;
let config: Config;
let npm: FixtureRegistry;
let pypi: FixtureIndex;
let serving: ChildProcess | undefined;
let controllerUrl: string;

before(async () => {
  if (chromiumMissing) return;
  work = await workDir('offline-status-page-');
  npm = await startRegistry(makeTree({ packages: 30 }));
  pypi = await startIndex([{ name: 'app', files: [await makeWheel({ name: 'app', version: '1.0.0' })] }]);
  const port = await claimPorts(5);
  const file = join(work, 'offline.yaml');
  await writeFile(file, stringify({
    data: './mirrors', listen: '127.0.0.1', controller: { port: port + 4 },
    npm: { port, upstream: npm.url, packages: ['pkg-0', 'multi-ver@^1'] },
    pypi: { port: port + 1, upstream: pypi.url, packages: ['app'], python: ['3.12'], platforms: ['manylinux_2_17_x86_64'] },
    pacman: { port: port + 2 },
    docker: { port: port + 3 },
  }));
  const synced = await offline(['sync', '-c', file]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  config = await loadConfig(file, {});
  const now = new Date().toISOString();
  await updateLedger(config.data, 'npm', () => [{ mirror: 'npm', item: MISSED, first: now, last: now, count: 3 }]);
  // Root serves as the data's owner: give the data to nobody, so the controller's sync can write it.
  if (process.getuid?.() === 0) await chownTree(config.data, 65534, 65534);
  serving = spawn(process.execPath, [CLI, 'serve', '-c', file, '--json', '--no-request-log'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  serving.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  serving.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  for (let i = 0; i < 300 && !out.includes('"serving"'); i++) await new Promise((r) => setTimeout(r, 100));
  const line = out.split('\n').find((l) => l.includes('"serving"'));
  assert.ok(line, `offline serve did not start:\n${out}`);
  controllerUrl = JSON.parse(line).controller;
  assert.match(controllerUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/, out);
});

after(async () => {
  if (serving && serving.exitCode === null) {
    const exited = new Promise((r) => serving!.once('exit', r));
    serving.kill('SIGTERM');
    await exited;
  }
  await Promise.all([npm?.close(), pypi?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { recursive: true })) await chown(join(dir, entry), uid, gid);
}

test('the status page shows every mirror with its counts, the misses, and a sync of the misses to its end', { skip: chromiumMissing }, async () => {
  const { chromium } = await import('playwright-core');
  const expected = await status(config);
  assert.deepEqual(expected.mirrors.map((m) => m.name), ['npm', 'pypi', 'pacman', 'docker']);
  const token = await readControllerToken(config.data);
  assert.ok(token, 'offline serve made the token');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${controllerUrl}?token=${token}`);
    assert.equal(page.url(), controllerUrl, 'the token left the address bar');
    await page.locator('#mirrors tbody tr[data-mirror]').nth(3).waitFor();

    for (const m of expected.mirrors) {
      const row = page.locator(`#mirrors tr[data-mirror="${m.name}"]`);
      for (const [key, value] of Object.entries(m.counts)) {
        const count = row.locator(`[data-count="${key}"]`);
        assert.equal(await count.getAttribute('data-value'), String(value), `${m.name} ${key}`);
        if (key !== 'bytes') assert.equal(await count.locator('b').textContent(), value.toLocaleString('en'), `${m.name} ${key} as shown`);
      }
      assert.equal(await row.locator('[data-serving]').getAttribute('data-serving'), 'true', `${m.name} serving`);
    }
    assert.ok(Object.values(expected.mirrors[0]!.counts).some((n) => n > 0), 'npm has something mirrored');
    await page.locator(`#misses tr[data-miss="${MISSED}"]`).waitFor();
    assert.match(await page.locator('#network').textContent() ?? '', /mirror address/);

    const shot = join(work, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.OFFLINE_SCREENSHOT) await copyFile(shot, resolve(process.env.OFFLINE_SCREENSHOT));

    await page.locator('#sync-misses').click();
    await page.locator('#sync-state', { hasText: 'The last sync finished: ok' }).waitFor({ timeout: 120_000 });
    assert.match(await page.locator('#sync-state').textContent() ?? '', /misses: 1 of 1 mirrored/);
    await page.locator('#misses-summary', { hasText: 'No misses' }).waitFor();

    const origin = new URL(controllerUrl).origin;
    assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`)), [], 'the page fetches nothing but the controller');
    assert.deepEqual(problems, [], 'no script error, no refused resource');
  } finally {
    await browser.close();
  }
});
