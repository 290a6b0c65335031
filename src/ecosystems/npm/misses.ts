/**
 * What an npm client missed, from the path verdaccio answered 404 (docs/adr/0015): a packument
 * (`/lodash`, `/@scope%2fname`, `/@scope/name`) is the package at its latest version, a tarball
 * (`/lodash/-/lodash-4.17.21.tgz`) that version. `/-/…` (ping, audits, search, login) and anything
 * that is not a valid package name are not a client's want.
 */
import { missedPath } from '../miss-request.ts';
import type { MissRequest } from '../types.ts';
import { packageNameSegments } from './names.ts';

export function npmMiss(request: MissRequest): string | undefined {
  const path = missedPath(request);
  if (path === undefined) return undefined;
  const [name, tarball] = path.slice(1).split('/-/');
  if (!name || name.startsWith('-') || path.includes('/-/-/')) return undefined;
  try {
    packageNameSegments(name);
  } catch {
    return undefined;
  }
  if (tarball === undefined) return name;
  const base = name.split('/').at(-1)!;
  const version = tarball.startsWith(`${base}-`) && tarball.endsWith('.tgz') ? tarball.slice(base.length + 1, -'.tgz'.length) : undefined;
  return version && /^\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(version) ? `${name}@${version}` : name;
}
