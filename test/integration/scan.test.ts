import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
