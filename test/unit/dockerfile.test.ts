import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanDockerfile } from '../../src/park/dockerfile.ts';

test('FROM lines: ARG defaults substituted, stages and scratch skipped, platforms ignored', () => {
  const found = scanDockerfile([
    'ARG NODE=22',
    'ARG BASE',
    'FROM --platform=$BUILDPLATFORM node:${NODE}-alpine AS build',
    'RUN npm ci',
    'FROM build AS test',
    'FROM scratch',
    'FROM ghcr.io/org/runtime@sha256:' + 'a'.repeat(64),
    'COPY --from=build /app /app',
    'FROM ${BASE}',
  ].join('\n'), 'Dockerfile');
  assert.deepEqual(found.images, ['node:22-alpine', `ghcr.io/org/runtime@sha256:${'a'.repeat(64)}`]);
  assert.deepEqual(found.notes, ['Dockerfile:9: FROM ${BASE} depends on a build argument with no default']);
});

test('RUN lines: pacman -S, pip install and npm install -g, across continuations and &&', () => {
  const found = scanDockerfile([
    'FROM archlinux:latest',
    'RUN pacman -Syu --noconfirm --needed \\',
    '      base-devel nodejs python \\',
    '    && pacman -Scc --noconfirm',
    'RUN python3 -m pip install --no-cache-dir "requests[socks]>=2.31" -r requirements.txt flask && pip3 install uvicorn',
    'RUN npm install -g typescript@5 && npm install left-pad',
    '# RUN pacman -S commented-out',
  ].join('\n'), 'Dockerfile');
  assert.deepEqual(found.images, ['archlinux:latest']);
  assert.deepEqual(found.packages.filter((p) => p.key === 'pacman.packages').map((p) => p.spec), ['base-devel', 'nodejs', 'python']);
  assert.deepEqual(found.packages.filter((p) => p.key === 'pypi.packages').map((p) => p.spec), ['requests[socks]>=2.31', 'flask', 'uvicorn']);
  assert.deepEqual(found.packages.filter((p) => p.key === 'npm.packages').map((p) => p.spec), ['typescript@5'], 'only global installs: a project install comes from its lockfile');
  assert.deepEqual(found.packages.map((p) => p.line), [2, 2, 2, 5, 5, 5, 6], 'each spec carries the first line of its RUN instruction');
});
