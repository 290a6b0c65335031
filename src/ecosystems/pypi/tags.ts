/**
 * Wheel compatibility tags (PEP 425, PEP 600 manylinux, PEP 656 musllinux), computed for a target
 * the containers run — not for this machine. The order is preference, best first, as in
 * `packaging.tags.sys_tags()`: interpreter-specific ABI, then abi3 for this and older minors, then
 * `none`, then pure-Python tags, then `any`.
 */

export type Target = { python: string; platform: string };

/** Parsed `{dist}-{ver}(-{build})?-{py}-{abi}-{plat}.whl`, tag sets expanded. */
export type WheelName = { name: string; version: string; build?: string; tags: string[] };

export function parseWheelFilename(filename: string): WheelName | undefined {
  if (!filename.endsWith('.whl')) return undefined;
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [name, version] = parts as [string, string];
  const [py, abi, plat] = parts.slice(-3) as [string, string, string];
  const tags: string[] = [];
  for (const p of py.split('.')) for (const a of abi.split('.')) for (const l of plat.split('.')) tags.push(`${p}-${a}-${l}`);
  return { name, version, build: parts.length === 6 ? parts[2] : undefined, tags };
}

const SDIST_SUFFIXES = ['.tar.gz', '.zip', '.tar.bz2', '.tgz'];

/** `name-1.0.tar.gz` → version `1.0`, given the project's normalized name. */
export function sdistVersion(filename: string, normalized: string): string | undefined {
  const suffix = SDIST_SUFFIXES.find((s) => filename.endsWith(s));
  if (!suffix) return undefined;
  const stem = filename.slice(0, -suffix.length);
  // The name part may be spelled any way that normalizes to the project's name.
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
    if (stem.slice(0, i).replace(/[-_.]+/g, '-').toLowerCase() === normalized) return stem.slice(i + 1);
  }
  return undefined;
}

/** Every platform tag a target platform accepts, best first (glibc/musl versions expanded). */
export function expandPlatform(platform: string): string[] {
  const many = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (many) return manylinux(Number(many[1]), Number(many[2]), many[3]!);
  const legacy = /^manylinux(1|2010|2014)_(.+)$/.exec(platform);
  if (legacy) {
    const minor = { 1: 5, 2010: 12, 2014: 17 }[legacy[1] as '1' | '2010' | '2014'];
    return manylinux(2, minor, legacy[2]!);
  }
  const musl = /^musllinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (musl) {
    const out: string[] = [];
    for (let m = Number(musl[2]); m >= 0; m--) out.push(`musllinux_${musl[1]}_${m}_${musl[3]}`);
    return out;
  }
  const mac = /^macosx_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (mac) return macos(Number(mac[1]), Number(mac[2]), mac[3]!);
  return [platform];
}

function manylinux(major: number, minor: number, arch: string): string[] {
  const out: string[] = [];
  const oldest = arch === 'x86_64' || arch === 'i686' ? 5 : 17;
  for (let m = minor; m >= oldest; m--) {
    out.push(`manylinux_${major}_${m}_${arch}`);
    if (major === 2 && m === 17) out.push(`manylinux2014_${arch}`);
    if (major === 2 && m === 12) out.push(`manylinux2010_${arch}`);
    if (major === 2 && m === 5) out.push(`manylinux1_${arch}`);
  }
  return out;
}

function macos(major: number, minor: number, arch: string): string[] {
  const formats = arch === 'arm64' ? ['arm64', 'universal2'] : arch === 'x86_64' ? ['x86_64', 'intel', 'fat64', 'fat32', 'universal2', 'universal'] : [arch];
  const versions: Array<[number, number]> = [];
  if (major >= 11) {
    for (let m = major; m >= 11; m--) versions.push([m, 0]);
    if (arch === 'x86_64') for (let m = 16; m >= 4; m--) versions.push([10, m]);
  } else {
    for (let m = minor; m >= 4; m--) versions.push([10, m]);
  }
  return versions.flatMap(([a, b]) => formats.map((f) => `macosx_${a}_${b}_${f}`));
}

/** Every wheel tag a CPython of `target.python` on `target.platform` installs, best first. */
export function supportedTags(target: Target): string[] {
  const [major, minor] = target.python.split('.').map(Number) as [number, number];
  const nodot = `${major}${minor}`;
  const platforms = expandPlatform(target.platform);
  const tags: string[] = [];
  for (const abi of [`cp${nodot}`, 'abi3', 'none']) for (const p of platforms) tags.push(`cp${nodot}-${abi}-${p}`);
  for (let m = minor - 1; m >= 2; m--) for (const p of platforms) tags.push(`cp${major}${m}-abi3-${p}`);
  const pys = [`py${nodot}`, `py${major}`, ...range(minor - 1, 0).map((m) => `py${major}${m}`)];
  for (const py of pys) for (const p of platforms) tags.push(`${py}-none-${p}`);
  tags.push(`cp${nodot}-none-any`);
  for (const py of pys) tags.push(`${py}-none-any`);
  return tags;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i >= to; i--) out.push(i);
  return out;
}

/** Rank of a wheel for a target: lower is better; `undefined` when it does not install there. */
export function wheelRank(wheel: WheelName, supported: Map<string, number>): number | undefined {
  let best: number | undefined;
  for (const tag of wheel.tags) {
    const rank = supported.get(tag);
    if (rank !== undefined && (best === undefined || rank < best)) best = rank;
  }
  return best;
}

export function tagRanks(target: Target): Map<string, number> {
  return new Map(supportedTags(target).map((t, i) => [t, i]));
}
