/**
 * Dependency relations and provisions as libalpm reads and matches them
 * (lib/libalpm/deps.c: `alpm_dep_from_string`, `_alpm_depcmp_literal`, `_alpm_depcmp_provides`).
 */
import { InputError } from '../../foundation/errors.ts';
import type { PkgDesc, Relation } from './types.ts';
import { vercmp } from './vercmp.ts';

/** A `%PROVIDES%` entry: a name, and a version only when it is written `name=version`. */
export type Provision = { name: string; version?: string };

/**
 * Parses `name`, `name>=1`, `name<2`, `name=1.2-3`, `name>1:2.0`, `libfoo.so=1-64`. Like alpm, the
 * first `<` wins, else the first `>`, else the first `=`, so a name is anything before the operator
 * (`+`, `-`, `.`, `@`, `_` included); an optdepends description after `": "` is dropped.
 * Surrounding whitespace is ignored. Pure.
 * @param source names the relation's origin in errors (`foo-1.0-1 %DEPENDS%`, `pacman.packages[2]`).
 * @throws InputError when there is no name, or an operator without a version.
 */
export function parseRelation(text: string, source = 'pacman relation'): Relation {
  const { name, op, version } = split(text, source);
  if (op === undefined) return { name };
  if (!version) throw new InputError(source, text, `not a pacman relation: expected a version after "${op}"`);
  return { name, op, version };
}

/**
 * Parses a `%PROVIDES%` entry. Only `name=version` gives a versioned provision; alpm ignores the
 * version of any other operator (makepkg never writes one), so `foo>=1` provides plain `foo`,
 * while `foo=` provides `foo` at the empty version, which alpm compares like any other.
 * @throws InputError when there is no name.
 */
export function parseProvision(text: string, source = 'pacman provision'): Provision {
  const { name, op, version } = split(text, source);
  return op === '=' ? { name, version } : { name };
}

/**
 * Whether a package or provision called `name` at `version` meets `rel`: the names must be equal;
 * a relation without a version is met by anything of that name; a versioned relation needs a
 * version (an unversioned `provides=foo` does not meet `foo>=1`) compared with {@link vercmp}, so a
 * relation version without a pkgrel ignores the candidate's (`foo=1.0` is met by `1.0-3`). Pure.
 * @param version the package's version, or a provision's; undefined for an unversioned provision.
 */
export function satisfies(rel: Relation, name: string, version: string | undefined): boolean {
  if (name !== rel.name) return false;
  if (rel.op === undefined || rel.version === undefined) return true;
  if (version === undefined) return false;
  const cmp = vercmp(version, rel.version);
  switch (rel.op) {
    case '<': return cmp < 0;
    case '<=': return cmp <= 0;
    case '=': return cmp === 0;
    case '>=': return cmp >= 0;
    case '>': return cmp > 0;
  }
}

/**
 * alpm's `_alpm_depcmp`: the package itself by name and version, else any of its `%PROVIDES%`.
 * Provisions that do not parse are skipped (upstream data is read leniently). Pure.
 */
export function packageSatisfies(rel: Relation, pkg: Pick<PkgDesc, 'name' | 'version' | 'provides'>): boolean {
  if (satisfies(rel, pkg.name, pkg.version)) return true;
  return pkg.provides.some((text) => {
    const prov = tryProvision(text);
    return prov !== undefined && satisfies(rel, prov.name, prov.version);
  });
}

/**
 * Every name a package can satisfy a dependency on: its own and each readable provision's. A
 * relation is met by a package only under one of these names (`packageSatisfies`), so indexing by
 * them loses nothing.
 */
export function namesAnswered(pkg: Pick<PkgDesc, 'name' | 'provides'>): string[] {
  const names = [pkg.name];
  for (const text of pkg.provides) {
    const prov = tryProvision(text);
    if (prov && !names.includes(prov.name)) names.push(prov.name);
  }
  return names;
}

function tryProvision(text: string): Provision | undefined {
  try {
    return parseProvision(text);
  } catch {
    return undefined;
  }
}

type Operator = NonNullable<Relation['op']>;

/** `alpm_dep_from_string`: drop a `": "` description, then split at the operator. */
function split(text: string, source: string): { name: string; op?: Operator; version: string } {
  let spec = text.trim();
  // The space in ": " keeps an epoch (`1:2.0`) from reading as a description.
  const desc = spec.indexOf(': ');
  if (desc >= 0) spec = spec.slice(0, desc);
  const found = findOperator(spec);
  const name = found ? spec.slice(0, found.at) : spec;
  if (!name) throw new InputError(source, text, 'not a pacman relation: expected a package name');
  if (!found) return { name, version: '' };
  return { name, op: found.op, version: spec.slice(found.at + found.op.length) };
}

function findOperator(spec: string): { at: number; op: Operator } | undefined {
  for (const ch of ['<', '>'] as const) {
    const at = spec.indexOf(ch);
    if (at >= 0) return { at, op: spec[at + 1] === '=' ? `${ch}=` : ch };
  }
  const at = spec.indexOf('=');
  return at >= 0 ? { at, op: '=' } : undefined;
}
