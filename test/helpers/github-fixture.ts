/**
 * A git repository made here and a local server that plays codeload.github.com for it: a GET of
 * `/<owner>/<repo>/tar.gz/<commit>` answers `git archive` of that commit, as GitHub's tarballs
 * are (one top directory `<repo>-<commit>/`, gzip). Anything else is a 404.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { run } from './run.ts';

export type GitRepo = { owner: string; repo: string; dir: string; commit: string };

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent',
  GIT_AUTHOR_NAME: 'offline test', GIT_AUTHOR_EMAIL: 'test@offline.invalid', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'offline test', GIT_COMMITTER_EMAIL: 'test@offline.invalid', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
  PATH: process.env.PATH ?? '/usr/bin:/bin',
};

async function git(dir: string, args: string[]): Promise<string> {
  const r = await run('git', ['-C', dir, ...args], { env: GIT_ENV, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** A repository in `dir` with `files` committed once; its commit. */
export async function makeGitRepo(dir: string, owner: string, repo: string, files: Record<string, string>): Promise<GitRepo> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'fixture']);
  return { owner, repo, dir, commit: await git(dir, ['rev-parse', 'HEAD']) };
}

export type Codeload = { url: string; requests: string[]; close(): Promise<void> };

/** Serves the repositories' commit tarballs on 127.0.0.1 at codeload's paths. */
export async function startCodeload(repos: GitRepo[]): Promise<Codeload> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/([^/]+)\/([^/]+)\/tar\.gz\/([0-9a-f]{40})$/.exec(req.url ?? '');
    const repo = m && repos.find((r) => r.owner === m[1] && r.repo === m[2] && r.commit === m[3]);
    if (!repo) {
      res.writeHead(404).end('Not Found');
      return;
    }
    const child = spawn('git', ['-C', repo.dir, 'archive', '--format=tar.gz', `--prefix=${repo.repo}-${repo.commit}/`, repo.commit], { env: GIT_ENV });
    res.writeHead(200, { 'content-type': 'application/x-gzip' });
    child.stdout.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
