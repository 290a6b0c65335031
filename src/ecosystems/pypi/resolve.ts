import { satisfies } from '@renovatebot/pep440';
import { ResolveError } from '../../foundation/errors.ts';
import { candidates, type Candidate } from './candidates.ts';
import { evaluateMarker, markerEnvironment } from './markers.ts';
import type { CoreMetadata } from './metadata.ts';
import { parseRequirement } from './pep508.ts';
import { tagRanks, type Target } from './tags.ts';
import type { MarkerEnvironment, Requirement } from './types.ts';
import type { IndexFile, IndexProject } from './upstream.ts';

/** Where resolution gets its facts; implementations cache and count requests. */
export type Provider = {
  project(normalized: string): Promise<IndexProject | undefined>;
  metadata(file: IndexFile): Promise<CoreMetadata>;
};

export type Pin = Candidate & { extras: string[] };

type Edge = { req: Requirement; from: string };

type State = {
  pins: Map<string, Pin>;
  edges: Map<string, Edge[]>;
  extras: Map<string, Set<string>>;
};

/** Bound on search steps: beyond it, resolution is reported as too complex instead of hanging. */
const MAX_STEPS = 20_000;

/**
 * Resolve requirements to one consistent set of pins for one target (Python version × platform),
 * as pip would there: markers and extras evaluated for the target, versions chosen highest first,
 * with backtracking when a later requirement conflicts with an earlier choice. Throws
 * `ResolveError` naming the conflict when no set satisfies every requirement.
 */
export async function resolveTarget(roots: Requirement[], constraints: Requirement[], target: Target, provider: Provider): Promise<Pin[]> {
  const env = markerEnvironment(target.python, target.platform);
  const search = new Search(provider, env, target, constraints);
  const state: State = { pins: new Map(), edges: new Map(), extras: new Map() };
  for (const req of roots) {
    if (req.marker && !evaluateMarker(req.marker, { ...env, extra: '' })) continue;
    if (!(await search.addEdge(state, { req, from: req.source }))) break;
  }
  const solved = search.conflict ? undefined : await search.solve(state, 0);
  if (!solved) throw new ResolveError(search.explain(target));
  return [...solved.pins.values()];
}

class Search {
  provider: Provider;
  env: MarkerEnvironment;
  target: Target;
  ranks: Map<string, number>;
  constraints: Map<string, Requirement[]>;
  steps = 0;
  conflict: { depth: number; message: string } | undefined;
  depsCache = new Map<string, Edge[]>();
  prefetched = new Set<string>();

  constructor(provider: Provider, env: MarkerEnvironment, target: Target, constraints: Requirement[]) {
    this.provider = provider;
    this.env = env;
    this.target = target;
    this.ranks = tagRanks(target);
    this.constraints = new Map();
    for (const c of constraints) this.constraints.set(c.normalized, [...(this.constraints.get(c.normalized) ?? []), c]);
  }

  async solve(state: State, depth: number): Promise<State | undefined> {
    if (++this.steps > MAX_STEPS) throw new ResolveError(`resolution for ${describeTarget(this.target)} took over ${MAX_STEPS} steps; pin some versions`);
    const name = [...state.edges.keys()].find((n) => !state.pins.has(n));
    if (!name) return state;
    const edges = state.edges.get(name)!;
    const project = await this.provider.project(name);
    if (!project) {
      this.record(depth, `${edges[0]!.req.name} is not on the upstream index (required by ${edges.map((e) => e.from).join(', ')})`);
      return undefined;
    }
    const specifiers = [...edges.map((e) => e.req.specifier), ...(this.constraints.get(name) ?? []).map((c) => c.specifier)];
    const hashes = hashPins(edges);
    const options = candidates(project, name, { specifiers, hashes, pythonFull: `${this.target.python}.0`, ranks: this.ranks });
    if (options.length === 0) {
      const wanted = edges.map((e) => `${e.req.name}${e.req.specifier || ' (any version)'} from ${e.from}`).join(' and ');
      this.record(depth, `no version of ${edges[0]!.req.name} satisfies ${wanted} for ${describeTarget(this.target)}`);
      return undefined;
    }
    for (const candidate of options) {
      const next = clone(state);
      const extras = [...(next.extras.get(name) ?? [])];
      next.pins.set(name, { ...candidate, extras });
      if (!(await this.expand(next, candidate, ['', ...extras], depth))) continue;
      const solved = await this.solve(next, depth + 1);
      if (solved) return solved;
    }
    return undefined;
  }

  /** Add one requirement edge; false when it contradicts a pin (a conflict to backtrack from). */
  async addEdge(state: State, edge: Edge, depth = 0): Promise<boolean> {
    const name = edge.req.normalized;
    state.edges.set(name, [...(state.edges.get(name) ?? []), edge]);
    const known = state.extras.get(name) ?? new Set<string>();
    const added = edge.req.extras.filter((e) => !known.has(e));
    if (added.length > 0) state.extras.set(name, new Set([...known, ...added]));
    const pin = state.pins.get(name);
    if (!pin) {
      this.prefetch(name, edge.req.specifier);
      return true;
    }
    if (edge.req.specifier && !satisfies(pin.version, edge.req.specifier)) {
      this.record(depth, `${edge.req.name}${edge.req.specifier} from ${edge.from} conflicts with ${pin.name} ${pin.version}, chosen for ${describeFrom(state, name)}`);
      return false;
    }
    if (edge.req.hashes.length > 0 && !edge.req.hashes.includes(pin.file.sha256 ?? '')) {
      this.record(depth, `${edge.req.name} from ${edge.from}: none of its --hash values is ${pin.file.filename}'s`);
      return false;
    }
    if (added.length === 0) return true;
    state.pins.set(name, { ...pin, extras: [...pin.extras, ...added] });
    return this.expand(state, pin, added, depth);
  }

  async expand(state: State, candidate: Candidate, extras: string[], depth: number): Promise<boolean> {
    for (const edge of await this.dependencies(candidate, extras)) {
      if (!(await this.addEdge(state, edge, depth))) return false;
    }
    return true;
  }

  /** Requires-Dist of a candidate whose markers hold on the target for the given extras ('' = base). */
  async dependencies(candidate: Candidate, extras: string[]): Promise<Edge[]> {
    const key = `${candidate.file.url} ${extras.join(',')}`;
    const cached = this.depsCache.get(key);
    if (cached) return cached;
    const metadata = await this.provider.metadata(candidate.file);
    const from = `${candidate.name} ${candidate.version}`;
    const edges: Edge[] = [];
    for (const line of metadata.requiresDist) {
      const req = parseRequirement(line, `${from} (Requires-Dist)`);
      if (req.url) continue;
      const applies = !req.marker || extras.some((extra) => evaluateMarker(req.marker!, { ...this.env, extra }));
      if (applies) edges.push({ req, from });
    }
    this.depsCache.set(key, edges);
    return edges;
  }

  /**
   * Start fetching what solving `name` will need — its page, then the metadata of its likely pick —
   * while the search goes on depth-first: the walk stays sequential, the network does not.
   */
  prefetch(name: string, specifier: string): void {
    if (this.prefetched.has(name)) return;
    this.prefetched.add(name);
    this.provider.project(name).then((project) => {
      if (!project) return;
      const [best] = candidates(project, name, { specifiers: [specifier], pythonFull: `${this.target.python}.0`, ranks: this.ranks });
      if (best) return this.provider.metadata(best.file);
    }).catch(() => undefined); // the real request reports the error
  }

  record(depth: number, message: string): void {
    if (!this.conflict || depth >= this.conflict.depth) this.conflict = { depth, message };
  }

  explain(target: Target): string {
    return `cannot resolve for ${describeTarget(target)}: ${this.conflict?.message ?? 'no consistent set of versions'}`;
  }
}

function hashPins(edges: Edge[]): Set<string> | undefined {
  const hashed = edges.filter((e) => e.req.hashes.length > 0);
  if (hashed.length === 0) return undefined;
  return new Set(hashed.flatMap((e) => e.req.hashes));
}

function clone(state: State): State {
  return { pins: new Map(state.pins), edges: new Map(state.edges), extras: new Map(state.extras) };
}

function describeFrom(state: State, name: string): string {
  return (state.edges.get(name) ?? []).map((e) => e.from).join(', ');
}

export function describeTarget(target: Target): string {
  return `Python ${target.python} on ${target.platform}`;
}
