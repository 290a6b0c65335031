/**
 * PEP 508 dependency specifiers: `name[extras] (specifier) ; marker` and `name[extras] @ url ; marker`.
 */
import { validRange } from '@renovatebot/pep440';
import { InputError } from '../../foundation/errors.ts';
import { parseMarker } from './markers.ts';
import { isValidName, normalizeName } from './names.ts';
import type { Requirement } from './types.ts';

const NAME_AT_START = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
const CLAUSE = /^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$/;
// PEP 440: a `.*` suffix only follows a plain release (optionally with an epoch), only with == and !=.
const WILDCARD = /^(==|!=)v?(\d+!)?\d+(\.\d+)*\.\*$/i;

/**
 * Parses one PEP 508 requirement. Whitespace is allowed wherever the grammar allows it; the
 * specifier is kept comma-joined without whitespace (`>=1,<2`), extras normalized and sorted, the
 * marker as written (validated). `hashes` is empty. Pure.
 * @param source where the text came from, kept on the result and named in errors
 *   (`requirements.txt:12`, `foo 1.0 (Requires-Dist)`).
 * @param file the input file, when there is one: errors then name it and, as the entry, `source`
 *   without the file (`line 12`).
 * @throws InputError naming `file` and `source` (or `source` alone) for anything PEP 508 rejects.
 */
export function parseRequirement(text: string, source: string, file?: string): Requirement {
  const entry = file === undefined ? undefined : entryOf(source, file);
  const fail = (message: string): never => {
    throw new InputError(file ?? source, entry, `invalid requirement ${JSON.stringify(text.trim())}: ${message}`);
  };
  let rest = text.trim();
  const name = NAME_AT_START.exec(rest)?.[0];
  if (name === undefined) return fail('expected a project name at the start');
  rest = rest.slice(name.length).trimStart();

  let extras: string[] = [];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail('expected "]" after the extras');
    extras = parseExtras(rest.slice(1, close), fail);
    rest = rest.slice(close + 1).trimStart();
  }

  let url: string | undefined;
  let specifier = '';
  if (rest.startsWith('@')) {
    // The URL runs to the next whitespace; a marker after it needs whitespace before the `;`.
    url = /^\S*/.exec(rest.slice(1).trimStart())?.[0] ?? '';
    if (!url) fail('expected a URL after "@"');
    rest = rest.slice(1).trimStart().slice(url.length).trimStart();
    if (rest && !rest.startsWith(';')) fail(`expected ";" and a marker after the URL, got ${JSON.stringify(rest)}`);
  } else {
    const semi = rest.indexOf(';');
    specifier = parseSpecifier(semi < 0 ? rest : rest.slice(0, semi), fail);
    rest = semi < 0 ? '' : rest.slice(semi);
  }

  let marker: string | undefined;
  if (rest.startsWith(';')) {
    marker = rest.slice(1).trim();
    if (!marker) fail('expected a marker after ";"');
    else parseMarker(marker, file ?? source, entry);
  }
  return {
    name,
    normalized: normalizeName(name),
    extras,
    specifier,
    ...(marker ? { marker } : {}),
    ...(url ? { url } : {}),
    hashes: [],
    source,
  };
}

/**
 * True when `specifier` is a valid PEP 440 specifier set ('' is: any version). Whitespace around
 * clauses and between operator and version is allowed.
 */
export function isValidSpecifier(specifier: string): boolean {
  try {
    parseSpecifier(specifier, (message) => {
      throw new Error(message);
    });
    return true;
  } catch {
    return false;
  }
}

/** `>= 1.0 , < 2` or `(>=1.0)` to `>=1.0,<2`; '' for no specifier. */
function parseSpecifier(text: string, fail: (message: string) => never): string {
  let inner = text.trim();
  if (inner.startsWith('(')) {
    if (!inner.endsWith(')')) fail('expected ")" after the version specifier');
    inner = inner.slice(1, -1).trim();
  }
  if (!inner) return '';
  const parts = inner.split(',').map((p) => p.trim());
  // `packaging` accepts (and pip therefore installs) a trailing comma: `name>=1.0,`.
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  const clauses = parts.map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) return fail(`${JSON.stringify(part)} is not a version specifier such as >=1.0`);
    const clause = `${m[1]}${m[2]}`;
    // @renovatebot/pep440 also accepts `==1.0a1.*` and `!=1.0.post1.*`; PEP 440 does not.
    const badWildcard = clause.endsWith('.*') && m[1] !== '===' && !WILDCARD.test(clause);
    if (badWildcard || !validRange(clause)) fail(`${JSON.stringify(part)} is not a valid PEP 440 version specifier`);
    return clause;
  });
  return clauses.join(',');
}

function parseExtras(text: string, fail: (message: string) => never): string[] {
  if (!text.trim()) return [];
  const extras = text.split(',').map((extra) => {
    const trimmed = extra.trim();
    if (!isValidName(trimmed)) fail(`${JSON.stringify(trimmed)} is not a valid extra name`);
    return normalizeName(trimmed);
  });
  return [...new Set(extras)].sort();
}

/** `requirements.txt:12` → `line 12`; `poetry.lock: package "idna"` → `package "idna"`. */
function entryOf(source: string, file: string): string | undefined {
  if (source === file) return undefined;
  if (!source.startsWith(`${file}:`)) return source;
  const rest = source.slice(file.length + 1).trim();
  return /^\d+$/.test(rest) ? `line ${rest}` : rest;
}
