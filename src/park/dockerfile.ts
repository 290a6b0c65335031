import { MIRRORS } from '../ecosystems/index.ts';

/**
 * What a Dockerfile pulls, read statically: base images from FROM lines (ARG defaults declared
 * before them substituted, later stages' names and `scratch` skipped), and the packages RUN lines
 * install, as each mirror recognises its clients' commands (`pacman -S`, `pip install`,
 * `npm install -g`). What cannot be known without running the build (a variable with no default)
 * is reported, not guessed.
 */
export type DockerfileFindings = {
  images: string[];
  /** Each FROM that names an image, with its line: what a park build needs in the daemon. */
  from: Array<{ image: string; line: number }>;
  /** Package specs with their config key (`pacman.packages`, …) and RUN line, in order. */
  packages: Array<{ key: string; spec: string; line: number }>;
  notes: string[];
};

export function scanDockerfile(text: string, file: string, buildArgs: Record<string, string> = {}): DockerfileFindings {
  const found: DockerfileFindings = { images: [], from: [], packages: [], notes: [] };
  const args = new Map<string, string>(Object.entries(buildArgs));
  const stages = new Set<string>();
  for (const [line, number] of logicalLines(text)) {
    const [instruction = '', ...rest] = line.trim().split(/\s+/);
    const upper = instruction.toUpperCase();
    if (upper === 'ARG') {
      for (const decl of rest) {
        const eq = decl.indexOf('=');
        if (eq > 0 && !args.has(decl.slice(0, eq))) args.set(decl.slice(0, eq), unquote(decl.slice(eq + 1)));
      }
    } else if (upper === 'FROM') {
      const words = rest.filter((w) => !w.startsWith('--'));
      const image = substitute(words[0] ?? '', args);
      const earlierStage = stages.has(image.toLowerCase());
      if (words[1]?.toUpperCase() === 'AS' && words[2]) stages.add(words[2].toLowerCase());
      if (!image || image === 'scratch' || earlierStage) continue;
      if (image.includes('$')) found.notes.push(`${file}:${number}: FROM ${words[0]} depends on a build argument with no default`);
      else {
        found.images.push(image);
        found.from.push({ image, line: number });
      }
    } else if (upper === 'RUN') {
      installs(rest.join(' '), number, found);
    }
  }
  return found;
}

/** Joins `\` continuations; yields each instruction with its first line number. */
function* logicalLines(text: string): Generator<[string, number]> {
  let current = '';
  let start = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (!current) start = i + 1;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    yield [current + line, start];
    current = '';
  }
  if (current) yield [current, start];
}

function substitute(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{?(\w+)(?::-([^}]*))?\}?/g, (whole, name: string, fallback?: string) => args.get(name) ?? fallback ?? whole);
}

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, '$2');
}

const COMMAND_END = /&&|\|\||;|\|/;

/** Each shell command of a RUN line, split into words, offered to every mirror that reads installs. */
function installs(command: string, line: number, found: DockerfileFindings): void {
  for (const part of command.split(COMMAND_END)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    for (const { packages } of MIRRORS.map((m) => m.inputs)) {
      for (const spec of packages.installs?.(words) ?? []) found.packages.push({ key: packages.key, spec, line });
    }
  }
}
