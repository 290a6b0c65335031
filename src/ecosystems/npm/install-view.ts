/**
 * Will `npm ci` / `yarn install` / `pnpm install` of this lockfile work from the mirror alone?
 * Read as the lockfile's own client behaves: which URLs it fetches as written, which it asks the
 * configured registry for, and which dependencies no registry serves. Pure: text in, verdict out.
 */
import { basename } from 'node:path';
import type { LockfileVerdict } from '../types.ts';
import { CODELOAD, CODELOAD_HOST, githubCommit, whyNotMirrorable } from './github.ts';
import type { LockfileContents } from './types.ts';

export type LockfileClient = 'npm' | 'yarn 1' | 'yarn berry' | 'pnpm';

/** The client a lockfile belongs to, from its name and (for yarn.lock) its `__metadata` key. */
export function lockfileClient(file: string, text: string): LockfileClient {
  const name = basename(file);
  if (name === 'pnpm-lock.yaml') return 'pnpm';
  if (name === 'yarn.lock') return /^__metadata:/m.test(text) ? 'yarn berry' : 'yarn 1';
  return 'npm';
}

/**
 * @param mirrorHosts `host:port` forms the mirror answers on: URLs there are fine as written.
 * @param outside names the mirror answers on the isolated network only (docs/adr/0009): URLs there
 *   install in park builds and containers, and are a `host` problem for installs on this machine.
 * @param npmrc the project's `.npmrc` beside the lockfile, if any (`replace-registry-host`).
 */
export function installView(file: string, text: string, contents: LockfileContents, mirrorHosts: string[], outside: string[], npmrc = ''): LockfileVerdict {
  const client = lockfileClient(file, text);
  const rewritten = rewrittenHosts(client, npmrc);
  const problems: string[] = [];
  const host: string[] = [];
  const asWritten = new Map<string, { count: number; first: string }>();
  for (const entry of contents.entries) {
    if (!entry.resolved || client === 'pnpm' || client === 'yarn berry') continue;
    let url: URL;
    try {
      url = new URL(entry.resolved);
    } catch {
      continue;
    }
    if (rewritten === 'all' || rewritten.has(url.hostname) || mirrorHosts.includes(url.host)) continue;
    const origin = `${url.protocol}//${url.host}/`;
    const seen = asWritten.get(origin);
    if (seen) seen.count++;
    else asWritten.set(origin, { count: 1, first: `${file}:${lineOf(text, entry.resolved)} ${entry.source.slice(entry.source.indexOf(':') + 2)}` });
  }
  for (const [origin, { count, first }] of asWritten) {
    const why = client === 'yarn 1' ? 'yarn 1 does not rewrite lockfile URLs' : 'npm rewrites only registry.npmjs.org (replace-registry-host)';
    const packages = `${count === 1 ? '1 package is' : `${count.toLocaleString('en-US')} packages are`} fetched from ${origin} as written (first: ${first}); ${why}`;
    const url = new URL(origin);
    if (url.protocol === 'https:' && url.port === '' && outside.includes(url.hostname)) host.push(`${packages}: offline answers ${url.hostname} on the isolated network only, so install in a container there (offline build, offline compose), not on this machine`);
    else problems.push(`${packages} and the mirror does not answer for ${url.host}`);
  }
  let local = 0;
  for (const u of contents.unmirrorable) {
    if (u.kind === 'file' || u.kind === 'link' || u.kind === 'workspace') {
      local++;
      continue;
    }
    const at = `${file}:${lineOf(text, u.spec)}`;
    const commit = u.kind === 'git' ? githubCommit(u.spec) : undefined;
    const fromCodeload = commit && (client === 'npm' || u.spec.startsWith(CODELOAD));
    if (fromCodeload) host.push(`${at}: ${u.name} is fetched from ${CODELOAD_HOST}, which offline answers on the isolated network only: install in a container there (offline build, offline compose), not on this machine`);
    else if (commit) problems.push(`${at}: ${u.name} (${u.spec}) is a git dependency ${client} clones with git; offline serves GitHub commits only where the client fetches ${CODELOAD_HOST} (npm, and yarn 1 and pnpm for github: dependencies)`);
    else if (u.kind === 'git') problems.push(`${at}: ${u.name} (${u.spec}) is a git dependency offline cannot mirror: ${whyNotMirrorable(u.spec)}`);
    else if (u.kind === 'remote-tarball') problems.push(`${at}: ${u.name} (${u.spec}) is a tarball URL; no mirror serves it`);
    else problems.push(`${at}: ${u.name} (${u.spec}) cannot be installed from a registry`);
  }
  return { file, client, ready: problems.length === 0, problems, host, local };
}

/** Hosts whose `resolved` URLs the client sends to the configured registry instead. */
function rewrittenHosts(client: LockfileClient, npmrc: string): Set<string> | 'all' {
  if (client !== 'npm') return new Set();
  const setting = /^\s*replace-registry-host\s*=\s*(\S+)/m.exec(npmrc)?.[1] ?? 'npmjs';
  if (setting === 'always') return 'all';
  if (setting === 'never') return new Set();
  return new Set([setting === 'npmjs' ? 'registry.npmjs.org' : setting]);
}

/** The 1-based line of the first occurrence of `needle`, or 1 when it is not found verbatim. */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) return 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
