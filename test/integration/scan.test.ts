import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { offline } from '../helpers/offline-cli.ts';

const work = await mkdtemp(join(tmpdir(), 'offline-scan-'));
after(() => rm(work, { recursive: true, force: true }));

async function put(path: string, content: string): Promise<void> {
  await mkdir(join(work, path, '..'), { recursive: true });
  await writeFile(join(work, path), content);
}

test('scan finds Dockerfiles, compose files and lockfiles and proposes config keys relative to the config', async () => {
  await put('app/Dockerfile', 'FROM node:22-alpine\nRUN npm ci\n');
  await put('app/package-lock.json', '{}');
  await put('app/node_modules/dep/package-lock.json', '{}');
  await put('api/Dockerfile.prod', 'FROM python:3.12-slim\nRUN pip install gunicorn\n');
  await put('api/requirements-dev.txt', 'pytest\n');
  await put('api/poetry.lock', '');
  await put('arch/Containerfile', 'FROM archlinux:latest\nRUN pacman -Sy --noconfirm git\n');
  await put('compose.yaml', 'services:\n  db:\n    image: postgres:16\n  app:\n    build: ./app\n    image: myapp:dev\n');
  await put('offline.yaml', 'data: ./mirrors\n');
  const r = await offline(['scan', 'app', 'api', 'arch', '.', '-c', join(work, 'offline.yaml')], { cwd: work });
  assert.equal(r.code, 0, r.stderr);
  const proposal = parse(r.stdout);
  assert.deepEqual(proposal.npm, { lockfiles: ['app/package-lock.json'] }, 'each file once, even when two directories overlap');
  assert.ok(proposal.pypi.requirements.includes('api/requirements-dev.txt') && proposal.pypi.requirements.includes('api/poetry.lock'));
  assert.deepEqual(proposal.pypi.packages, ['gunicorn']);
  assert.deepEqual(proposal.pacman.packages, ['git']);
  assert.deepEqual(proposal.docker.images, ['archlinux:latest', 'node:22-alpine', 'postgres:16', 'python:3.12-slim'], 'a compose service built locally is not an image to mirror');
  const json = JSON.parse((await offline(['scan', '.', '--json', '-c', join(work, 'offline.yaml')], { cwd: work })).stdout);
  assert.ok(json.files.some((f: { file: string; kind: string }) => f.file === 'compose.yaml' && f.kind === 'compose'));
});

test('scan says what each Dockerfile\'s park build needs and whether the config has it; --write merges the rest, keeping comments and order', async () => {
  const dir = join(work, 'write');
  await put('write/shop/web/Dockerfile', 'FROM node:22\nRUN npm ci && npm install -g typescript@5\n');
  await put('write/shop/web/package-lock.json', '{"lockfileVersion":3,"packages":{"":{"name":"web"}}}');
  await put('write/shop/tools/Dockerfile', 'FROM archlinux:latest\nRUN pacman -Sy --noconfirm git nodejs\n');
  const original = [
    '# my mirrors',
    'data: ./mirrors',
    'docker:',
    '  port: 5000 # the registry',
    '  images:',
    '    - docker.io/library/node:22   # pinned by hand',
    'pacman:',
    '  packages: [core/git>=2]',
    '',
  ].join('\n');
  await put('write/offline.yaml', original);
  const config = join(dir, 'offline.yaml');
  const report = JSON.parse((await offline(['scan', 'shop', '--json', '-c', config], { cwd: dir })).stdout);
  const web = report.dockerfiles.find((d: { file: string }) => d.file === 'shop/web/Dockerfile');
  assert.deepEqual(web.needs, [
    { key: 'docker.images', value: 'node:22', configured: true },
    { key: 'npm.packages', value: 'typescript@5', configured: false },
    { key: 'npm.lockfiles', value: 'shop/web/package-lock.json', configured: false },
  ]);
  const printed = await offline(['scan', 'shop', '-c', config], { cwd: dir });
  assert.match(printed.stdout, /^# {3}pacman\.packages: git {2}ok$/m);
  assert.match(printed.stdout, /^# {3}pacman\.packages: nodejs {2}missing$/m);

  const written = await offline(['scan', '--write', 'shop', '-c', config], { cwd: dir });
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stdout, /added to .*offline\.yaml:\n# {3}npm\.lockfiles: shop\/web\/package-lock\.json/);
  const after = await readFile(config, 'utf8');
  assert.ok(after.startsWith('# my mirrors\ndata: ./mirrors\ndocker:\n  port: 5000 # the registry\n'), after);
  assert.match(after, /- docker\.io\/library\/node:22 # pinned by hand\n {4}- archlinux:latest\n/, "the comment stays with its entry");
  const merged = parse(after);
  assert.deepEqual(merged.pacman.packages, ['core/git>=2', 'nodejs']);
  assert.deepEqual(merged.npm, { lockfiles: ['shop/web/package-lock.json'], packages: ['typescript@5'] });
  const again = await offline(['scan', '--write', 'shop', '-c', config], { cwd: dir });
  assert.match(again.stdout, /already has everything found: nothing to add/);
  assert.equal(await readFile(config, 'utf8'), after, 'a second --write changes nothing');
});
