/**
 * PEP 508 environment markers: parsing to a small AST and evaluating it against the environment of
 * one target Python and platform (`markerEnvironment`).
 */
import { satisfies, valid, validRange } from '@renovatebot/pep440';
import { InputError } from '../../foundation/errors.ts';
import { normalizeName } from './names.ts';
import type { MarkerEnvironment } from './types.ts';

export type MarkerOp = '===' | '==' | '~=' | '!=' | '<=' | '>=' | '<' | '>' | 'in' | 'not in';
export type MarkerValue = { type: 'variable'; name: keyof MarkerEnvironment } | { type: 'string'; value: string };
export type Comparison = { type: 'compare'; left: MarkerValue; op: MarkerOp; right: MarkerValue };
export type Marker = Comparison | { type: 'and' | 'or'; items: Marker[] };

// PEP 508 names, plus the dotted and legacy spellings `packaging` still accepts.
const VARIABLES: Record<string, keyof MarkerEnvironment> = {
  python_version: 'python_version',
  python_full_version: 'python_full_version',
  os_name: 'os_name',
  'os.name': 'os_name',
  sys_platform: 'sys_platform',
  'sys.platform': 'sys_platform',
  platform_release: 'platform_release',
  platform_system: 'platform_system',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_python_implementation: 'platform_python_implementation',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
  implementation_name: 'implementation_name',
  implementation_version: 'implementation_version',
  extra: 'extra',
};

type Token = { kind: '(' | ')' | 'string' | 'op' | 'word' | 'end'; text: string; pos: number };

const SPACE = /[ \t\r\n\f\v]*/y;
const STRING = /'([^']*)'|"([^"]*)"/y;
const OP = /===|==|~=|!=|<=|>=|<|>/y;
const WORD = /[A-Za-z_][A-Za-z0-9_.]*/y;

/**
 * Parses a marker (`python_version < "3.11" and sys_platform == "linux"`): `or` binds looser than
 * `and`, parentheses group, either operand may be the variable. Pure.
 * @throws InputError naming `file` (default: the marker itself) and `entry`, with the column of the
 *   first thing that does not fit the grammar.
 */
export function parseMarker(text: string, file?: string, entry?: string): Marker {
  const tokens = tokenize(text, file, entry);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const fail = (expected: string): never => {
    const token = peek();
    const got = token.kind === 'end' ? 'the end' : JSON.stringify(token.text);
    throw markerError(text, `expected ${expected} at column ${token.pos + 1}, got ${got}`, file, entry);
  };
  const isWord = (word: string): boolean => peek().kind === 'word' && peek().text === word;

  function value(): MarkerValue {
    const token = peek();
    if (token.kind === 'string') {
      at++;
      return { type: 'string', value: token.text };
    }
    const name = token.kind === 'word' ? VARIABLES[token.text] : undefined;
    if (name === undefined) return fail('a marker variable or a quoted string');
    at++;
    return { type: 'variable', name };
  }
  function op(): MarkerOp {
    const token = peek();
    if (token.kind === 'op') {
      at++;
      return token.text as MarkerOp;
    }
    if (isWord('in')) {
      at++;
      return 'in';
    }
    if (isWord('not')) {
      at++;
      if (!isWord('in')) fail('"in" after "not"');
      at++;
      return 'not in';
    }
    return fail('a comparison operator');
  }
  function atom(): Marker {
    if (peek().kind === '(') {
      at++;
      const inner = or();
      if (peek().kind !== ')') fail('")"');
      at++;
      return inner;
    }
    const left = value();
    const operator = op();
    return { type: 'compare', left, op: operator, right: value() };
  }
  function chain(kind: 'and' | 'or', next: () => Marker): Marker {
    const items = [next()];
    while (isWord(kind)) {
      at++;
      items.push(next());
    }
    return items.length === 1 ? items[0]! : { type: kind, items };
  }
  function or(): Marker {
    return chain('or', () => chain('and', atom));
  }

  const marker = or();
  if (peek().kind !== 'end') fail('"and", "or" or the end');
  return marker;
}

function tokenize(text: string, file: string | undefined, entry: string | undefined): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const match = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = pos;
    return re.exec(text);
  };
  for (;;) {
    pos += match(SPACE)?.[0].length ?? 0;
    if (pos >= text.length) break;
    const ch = text[pos]!;
    let m: RegExpExecArray | null;
    if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch, text: ch, pos });
      pos++;
    } else if ((m = match(STRING))) {
      tokens.push({ kind: 'string', text: m[1] ?? m[2] ?? '', pos });
      pos += m[0].length;
    } else if (ch === '"' || ch === "'") {
      throw markerError(text, `unterminated string starting at column ${pos + 1}`, file, entry);
    } else if ((m = match(OP)) || (m = match(WORD))) {
      tokens.push({ kind: /^[A-Za-z_]/.test(m[0]) ? 'word' : 'op', text: m[0], pos });
      pos += m[0].length;
    } else {
      throw markerError(text, `unexpected ${JSON.stringify(ch)} at column ${pos + 1}`, file, entry);
    }
  }
  tokens.push({ kind: 'end', text: '', pos: text.length });
  return tokens;
}

function markerError(text: string, message: string, file: string | undefined, entry: string | undefined): InputError {
  return new InputError(file ?? 'marker', entry, `invalid marker ${JSON.stringify(text)}: ${message}`);
}

const cache = new Map<string, Marker>();

/**
 * True when the marker holds in `env`. Parsed markers are cached, so evaluating the same marker
 * text for many packages is cheap.
 * @throws InputError as `parseMarker`, or when `~=` compares values that are not versions.
 */
export function evaluateMarker(marker: string, env: MarkerEnvironment, file?: string, entry?: string): boolean {
  let parsed = cache.get(marker);
  if (!parsed) {
    parsed = parseMarker(marker, file, entry);
    if (cache.size > 4096) cache.clear();
    cache.set(marker, parsed);
  }
  return evaluate(parsed, env, marker, file, entry);
}

function evaluate(node: Marker, env: MarkerEnvironment, text: string, file?: string, entry?: string): boolean {
  if (node.type === 'compare') return compare(node, env, text, file, entry);
  const holds = (item: Marker): boolean => evaluate(item, env, text, file, entry);
  return node.type === 'and' ? node.items.every(holds) : node.items.some(holds);
}

function compare(node: Comparison, env: MarkerEnvironment, text: string, file?: string, entry?: string): boolean {
  // PEP 685: extra names compare after PEP 503 normalization.
  const isExtra = isVariable(node.left, 'extra') || isVariable(node.right, 'extra');
  const norm = (v: string): string => (isExtra ? normalizeName(v) : v);
  const lhs = norm(read(node.left, env));
  const rhs = norm(read(node.right, env));
  const op = node.op;
  if (op === 'in') return rhs.includes(lhs);
  if (op === 'not in') return !rhs.includes(lhs);
  // PEP 508: PEP 440 semantics when the specifier `op rhs` and the version `lhs` are both valid
  // (as `packaging` does: `Specifier(op + rhs).contains(lhs, prereleases=True)`), Python's string
  // comparison otherwise.
  const specifier = `${op}${rhs}`;
  if (valid(lhs) !== null && validRange(specifier)) return satisfies(lhs, specifier, { prereleases: true });
  switch (op) {
    case '==':
    case '===':
      return lhs === rhs;
    case '!=':
      return lhs !== rhs;
    case '<':
      return lhs < rhs;
    case '<=':
      return lhs <= rhs;
    case '>':
      return lhs > rhs;
    case '>=':
      return lhs >= rhs;
    case '~=':
      throw markerError(text, `"~=" needs PEP 440 versions on both sides, got ${JSON.stringify(lhs)} and ${JSON.stringify(rhs)}`, file, entry);
  }
}

function isVariable(value: MarkerValue, name: keyof MarkerEnvironment): boolean {
  return value.type === 'variable' && value.name === name;
}

function read(value: MarkerValue, env: MarkerEnvironment): string {
  return value.type === 'string' ? value.value : env[value.name];
}

const PYTHON = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

/**
 * The marker environment of CPython `python` (`3.12` or `3.12.4`) on the machines a wheel platform
 * tag (`manylinux_2_17_x86_64`, `musllinux_1_2_aarch64`, `macosx_11_0_arm64`, `win_amd64`) names,
 * with `extra` empty. What a tag cannot tell (kernel release and version strings) is '' (Linux) or
 * a typical value: `platform_release` is the Darwin kernel of the tag's macOS, '10' on Windows.
 * Pure.
 * @throws InputError naming the value when it is not a Python version or not a known platform tag.
 */
export function markerEnvironment(python: string, platform: string): MarkerEnvironment {
  const version = PYTHON.exec(python);
  if (!version) throw new InputError('pypi.python', JSON.stringify(python), 'not a Python version: expected major.minor such as 3.12');
  const full = `${version[1]}.${version[2]}.${version[3] ?? '0'}`;
  return {
    python_version: `${version[1]}.${version[2]}`,
    python_full_version: full,
    implementation_name: 'cpython',
    implementation_version: full,
    platform_python_implementation: 'CPython',
    platform_version: '',
    extra: '',
    ...platformFields(platform),
  };
}

type PlatformFields = Pick<MarkerEnvironment, 'os_name' | 'sys_platform' | 'platform_system' | 'platform_machine' | 'platform_release'>;

function platformFields(platform: string): PlatformFields {
  const linux = /^(?:manylinux_\d+_\d+|manylinux1|manylinux2010|manylinux2014|musllinux_\d+_\d+|linux)_(.+)$/.exec(platform);
  if (linux) return { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', platform_machine: linux[1]!, platform_release: '' };
  const mac = /^macosx_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (mac) {
    const major = Number(mac[1]);
    // Darwin 20 is macOS 11, Darwin 19 is 10.15: the kernel release macOS reports.
    const darwin = major >= 11 ? major + 9 : Number(mac[2]) + 4;
    // universal2 wheels serve both; the target machines of a mirror are taken to be Apple silicon.
    const machine = mac[3] === 'universal2' || mac[3] === 'arm64' ? 'arm64' : 'x86_64';
    return { os_name: 'posix', sys_platform: 'darwin', platform_system: 'Darwin', platform_machine: machine, platform_release: `${darwin}.0.0` };
  }
  const windows: Record<string, string> = { win32: 'x86', win_amd64: 'AMD64', win_arm64: 'ARM64' };
  const machine = windows[platform];
  if (machine) return { os_name: 'nt', sys_platform: 'win32', platform_system: 'Windows', platform_machine: machine, platform_release: '10' };
  throw new InputError(
    'pypi.platforms',
    JSON.stringify(platform),
    'not a wheel platform tag offline knows: expected manylinux_X_Y_<arch>, musllinux_X_Y_<arch>, linux_<arch>, macosx_X_Y_<arch>, win32, win_amd64 or win_arm64',
  );
}
