/**
 * Reads an npm-ecosystem lockfile (npm, yarn classic or berry, pnpm) into the registry packages it
 * pins and the dependencies no registry mirror can serve. The format is chosen by file name.
 */
import { readInput } from '../../foundation/read-input.ts';
import { basename } from 'node:path';
import { InputError } from '../../foundation/errors.ts';
import { dedupe } from './lockfile-common.ts';
import { parseNpmLockfile } from './lockfile-npm.ts';
import { parsePnpmLockfile } from './lockfile-pnpm.ts';
import { parseYarnLockfile } from './lockfile-yarn.ts';
import type { LockfileContents } from './types.ts';

type Parser = (file: string, text: string) => LockfileContents;

const PARSERS = new Map<string, Parser>([
  ['package-lock.json', parseNpmLockfile],
  ['npm-shrinkwrap.json', parseNpmLockfile],
  ['yarn.lock', parseYarnLockfile],
  ['pnpm-lock.yaml', parsePnpmLockfile],
]);

/**
 * Parses lockfile text, choosing the format by the base name of `file`. `file` is used as written
 * in messages and in each entry's `source`. Entries are deduplicated by name@version (the first
 * with an integrity wins). Pure.
 * @throws InputError for an unknown file name, a syntax error or a malformed entry; the message
 *   names the file and the entry.
 */
export function parseLockfile(file: string, text: string): LockfileContents {
  return dedupe(parserFor(file)(file, text));
}

/**
 * Reads and parses a lockfile from disk; see `parseLockfile`.
 * @throws InputError when the file is missing or unreadable (with the reason), or as `parseLockfile`.
 */
export async function readLockfile(file: string): Promise<LockfileContents> {
  const parse = parserFor(file);
  return dedupe(parse(file, await readInput(file, 'lockfile')));
}

function parserFor(file: string): Parser {
  const parse = PARSERS.get(basename(file));
  if (parse) return parse;
  throw new InputError(
    file,
    undefined,
    'not a lockfile offline knows: expected package-lock.json, npm-shrinkwrap.json, yarn.lock or pnpm-lock.yaml',
  );
}
