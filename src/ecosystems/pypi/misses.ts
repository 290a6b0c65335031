/**
 * What a pip client missed, from the path the index answered 404 (docs/adr/0015): a project page
 * (`/simple/flask/`) is the project, a file (`/files/flask/flask-3.0.0-py3-none-any.whl`) that
 * version (`flask==3.0.0`). The index root, metadata files and names that are not PEP 508 names
 * are not a client's want.
 */
import { missedPath } from '../miss-request.ts';
import type { MissRequest } from '../types.ts';
import { fileVersion } from './candidates.ts';
import { isValidName, normalizeName } from './names.ts';

const PAGE = /^\/simple\/([^/]+)\/?$/;
const FILE = /^\/files\/([^/]+)\/([^/]+)$/;

export function pypiMiss(request: MissRequest): string | undefined {
  const path = missedPath(request);
  if (path === undefined) return undefined;
  const page = PAGE.exec(path);
  if (page) return isValidName(page[1]!) ? normalizeName(page[1]!) : undefined;
  const file = FILE.exec(path);
  if (!file || !isValidName(file[1]!) || file[2]!.endsWith('.metadata')) return undefined;
  const name = normalizeName(file[1]!);
  const version = fileVersion(file[2]!, name);
  return version && /^[0-9A-Za-z.!+_-]+$/.test(version) ? `${name}==${version}` : name;
}
