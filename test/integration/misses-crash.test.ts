/**
 * The misses ledger survives `kill -9` of the serving process mid-write: `offline serve` is
 * killed again and again while clients keep missing new things (so the ledger, near its bound,
 * is being rewritten all the time); after every kill the file parses, and it never holds fewer
 * entries than it held before the run that was killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLedger, updateLedger } from '../../src/engine/misses.ts';
import { CLI } from '../helpers/offline-cli.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

let work: string;
let data: string;

before(async () => {
  work = await workDir('offline-misses-crash-');
  data = join(work, 'm');
  await mkdir(data, { mode: 0o755 });
  const port = await claimPorts();
  await writeFile(join(work, 'offline.yaml'), `data: ./m\nlisten: 127.0.0.1\npypi: { port: ${port} }\n`);
  // A ledger near its bound: every write rewrites about 100 kB.
  await updateLedger(data, 'pypi', () => Array.from({ length: 900 }, (_, i) => ({
    mirror: 'pypi', item: `seed-${i}`, count: 1, first: new Date(i).toISOString(), last: new Date(i).toISOString(),
  })));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** `offline serve` until it prints its endpoint. */
async function startServe(): Promise<{ url: string; kill(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--json', '--no-request-log'], { cwd: work, env: { ...process.env, OFFLINE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exited.then(() => reject(new Error(`serve exited: ${out}`)));
  });
  const { serving } = JSON.parse(line) as { serving: Array<{ url: string }> };
  return {
    url: new URL(serving[0]!.url).origin,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

test('kill -9 while the ledger is being written leaves it whole, never smaller', async () => {
  let asked = 0;
  let before = (await readLedger(data, ['pypi'])).length;
  for (let round = 0; round < 8; round++) {
    const serving = await startServe();
    const until = Date.now() + 700 + Math.floor(Math.random() * 900);
    // Four clients, each missing a new project every request.
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const res = await fetch(`${serving.url}/simple/missing-${asked++}/`);
        assert.equal(res.status, 404);
        await res.arrayBuffer();
      }
    }));
    await serving.kill();
    const text = await readFile(join(data, 'misses', 'pypi.json'), 'utf8');
    const parsed = JSON.parse(text) as { version: number; misses: unknown[] };
    assert.equal(parsed.version, 1);
    const now = (await readLedger(data, ['pypi'])).length;
    assert.ok(now >= before, `round ${round}: ${now} entries after the kill, ${before} before`);
    before = now;
    await sleep(10);
  }
  assert.ok(before > 900, 'misses were recorded between the kills');
  // What a kill left half-written is a temporary file beside the ledger, never the ledger; the
  // next serve's first write sweeps it away.
  const serving = await startServe();
  await (await fetch(`${serving.url}/simple/after-the-kills/`)).arrayBuffer();
  for (let i = 0; i < 100 && !(await readLedger(data, ['pypi'])).some((e) => e.item === 'after-the-kills'); i++) await sleep(50);
  await serving.kill();
  assert.deepEqual((await readdir(join(data, 'misses'))).filter((n) => n !== 'pypi.json'), []);
});
