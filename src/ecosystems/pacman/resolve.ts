import { describeError } from '../../foundation/errors.ts';
import { namesAnswered, packageSatisfies, parseRelation, satisfies } from './relation.ts';
import type { PkgDesc, Relation, RepoDb } from './types.ts';

export type PacmanResolution = { packages: PkgDesc[]; problems: Array<{ item: string; message: string }> };

/**
 * Resolve `pacman.packages` against sync databases (in `pacman.repos` order) to their closure, as
 * `pacman -S` does: a target is an exact package name (the first repo that has it wins; `repo/name`
 * picks the repo), else a group (every member, first repo per name), else a provider; each
 * dependency is met by a package of that name whose version satisfies it, else by the first
 * package that provides it (versioned provisions for versioned dependencies; sonames included).
 * Problems are collected, not thrown.
 */
export function resolvePacman(targets: string[], dbs: RepoDb[]): PacmanResolution {
  const index = buildIndex(dbs);
  const repos = dbs.length > 0 ? dbs.map((d) => d.repo).join(', ') : 'no database (none could be read)';
  const chosen = new Map<string, PkgDesc>();
  // The chosen packages by every name they answer to: a dependency already met is found at once.
  const chosenAnswering = new Map<string, PkgDesc[]>();
  const problems: PacmanResolution['problems'] = [];
  const queue: PkgDesc[] = [];
  const add = (pkg: PkgDesc): void => {
    if (chosen.has(pkg.name)) return;
    chosen.set(pkg.name, pkg);
    for (const name of namesAnswered(pkg)) push(chosenAnswering, name, pkg);
    queue.push(pkg);
  };

  for (const [i, target] of targets.entries()) {
    let found: PkgDesc[];
    try {
      found = resolveTarget(target, index);
    } catch (err) {
      problems.push({ item: `pacman.packages[${i}] "${target}"`, message: describeError(err) });
      continue;
    }
    if (found.length === 0) problems.push({ item: `pacman.packages[${i}] "${target}"`, message: `target not found in ${repos}` });
    found.forEach(add);
  }
  for (let next = 0; next < queue.length; next++) {
    const pkg = queue[next]!;
    for (const dep of pkg.depends) {
      let rel: Relation;
      try {
        rel = parseRelation(dep, `${pkg.repo}/${pkg.name}`);
      } catch (err) {
        problems.push({ item: `${pkg.repo}/${pkg.name} ${pkg.version}`, message: `unreadable dependency: ${describeError(err)}` });
        continue;
      }
      if (chosenAnswering.get(rel.name)?.some((p) => packageSatisfies(rel, p))) continue;
      const provider = findSatisfier(rel, index);
      if (provider) add(provider);
      else problems.push({ item: `${pkg.repo}/${pkg.name} ${pkg.version}`, message: `depends on ${dep}, which no package in ${repos} satisfies` });
    }
  }
  return { packages: [...chosen.values()], problems };
}

type Index = {
  dbs: RepoDb[];
  /** name → package, first repo wins */
  byName: Map<string, PkgDesc>;
  /** per database (in `dbs` order): name → its first package of that name */
  byRepoName: Array<Map<string, PkgDesc>>;
  /** name → every package answering to it (its own name or a provision), in repo order */
  answering: Map<string, PkgDesc[]>;
  /** every package in repo order, for group searches */
  all: PkgDesc[];
};

function push(map: Map<string, PkgDesc[]>, key: string, pkg: PkgDesc): void {
  const list = map.get(key);
  if (list) list.push(pkg);
  else map.set(key, [pkg]);
}

/**
 * Maps from names to packages, so each dependency is one lookup rather than a scan of every
 * database: resolving against Arch's extra (15,000 entries) grows with the closure, not with
 * closure × entries (docs/benchmarks.md).
 */
function buildIndex(dbs: RepoDb[]): Index {
  const byName = new Map<string, PkgDesc>();
  const answering = new Map<string, PkgDesc[]>();
  const all: PkgDesc[] = [];
  const byRepoName = dbs.map((db) => {
    const names = new Map<string, PkgDesc>();
    for (const pkg of db.packages) {
      if (!names.has(pkg.name)) names.set(pkg.name, pkg);
      if (!byName.has(pkg.name)) byName.set(pkg.name, pkg);
      for (const name of namesAnswered(pkg)) push(answering, name, pkg);
      all.push(pkg);
    }
    return names;
  });
  return { dbs, byName, byRepoName, answering, all };
}

function resolveTarget(target: string, index: Index): PkgDesc[] {
  const slash = target.indexOf('/');
  if (slash > 0) {
    const repo = index.dbs.find((d) => d.repo === target.slice(0, slash));
    const rel = parseRelation(target.slice(slash + 1));
    const pkg = repo?.packages.find((p) => p.name === rel.name && satisfies(rel, p.name, p.version));
    return pkg ? [pkg] : [];
  }
  const rel = parseRelation(target);
  const exact = index.byName.get(rel.name);
  if (exact && satisfies(rel, exact.name, exact.version)) return [exact];
  if (!rel.op) {
    const members = new Map<string, PkgDesc>();
    for (const pkg of index.all) if (pkg.groups.includes(rel.name) && !members.has(pkg.name)) members.set(pkg.name, pkg);
    if (members.size > 0) return [...members.values()];
  }
  const provider = findSatisfier(rel, index);
  return provider ? [provider] : [];
}

/** A package of the relation's name that satisfies it, else the first provider that does. */
function findSatisfier(rel: Relation, index: Index): PkgDesc | undefined {
  for (const names of index.byRepoName) {
    const pkg = names.get(rel.name);
    if (pkg && satisfies(rel, pkg.name, pkg.version)) return pkg;
  }
  return index.answering.get(rel.name)?.find((pkg) => packageSatisfies(rel, pkg));
}
