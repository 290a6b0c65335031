import assert from 'node:assert/strict';
import { test } from 'node:test';
import { githubCommit, tarballPath, tarballUrl } from '../../src/ecosystems/npm/github.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

test('githubCommit reads every form npm, yarn 1 and pnpm write for a GitHub commit', () => {
  const want = { owner: 'jackkav', repo: 'grpc-reflection-js', commit: SHA };
  for (const spec of [
    `git+ssh://git@github.com/jackkav/grpc-reflection-js.git#${SHA}`,
    `git+https://github.com/jackkav/grpc-reflection-js.git#${SHA}`,
    `git://github.com/jackkav/grpc-reflection-js.git#${SHA}`,
    `git@github.com:jackkav/grpc-reflection-js.git#${SHA}`,
    `github:jackkav/grpc-reflection-js#${SHA}`,
    `jackkav/grpc-reflection-js#${SHA}`,
    `https://codeload.github.com/jackkav/grpc-reflection-js/tar.gz/${SHA}`,
  ]) assert.deepEqual(githubCommit(spec), want, spec);
  assert.equal(tarballUrl('https://codeload.github.com/', want), `https://codeload.github.com/jackkav/grpc-reflection-js/tar.gz/${SHA}`);
});

test('githubCommit refuses what cannot be mirrored or is not safe as a path: no full commit, other hosts, hostile names', () => {
  for (const spec of [
    'git+ssh://git@github.com/o/r.git#main',
    `git+ssh://git@github.com/o/r.git#${SHA.slice(0, 7)}`,
    `git+ssh://git@github.com/o/r.git#${SHA.toUpperCase()}`,
    `git+https://gitlab.com/o/r.git#${SHA}`,
    `https://codeload.github.com/o/../tar.gz/${SHA}`,
    `https://codeload.github.com/o/r%2f..%2f..%2fx/tar.gz/${SHA}`,
    `https://codeload.github.com/o/r/tar.gz/${SHA}/../../etc`,
    `github:-o/r#${SHA}`,
    `github:o/..#${SHA}`,
    'github:o/r',
  ]) assert.equal(githubCommit(spec), undefined, spec);
});

test('tarballPath stays inside the mirror for every accepted commit', () => {
  assert.equal(tarballPath('/m/npm', { owner: 'o', repo: 'r.js', commit: SHA }), `/m/npm/github/o/r.js/${SHA}.tar.gz`);
});
