/**
 * pip requirements files, read the way pip 24 reads them (pip/_internal/req/req_file.py): lines
 * joined at a trailing `\`, comments stripped, each line split into a requirement and options,
 * `-r`/`-c` includes followed relative to the including file.
 */
import { readFile } from 'node:fs/promises';
import { readInput } from '../../foundation/read-input.ts';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../../foundation/errors.ts';
import { parseRequirement } from './pep508.ts';
import type { Requirement, RequirementsContents } from './types.ts';

type Kind = 'requirement' | 'constraint' | 'editable' | 'hash' | 'per-requirement' | 'global';
type OptionSpec = { long: string; short?: string; value: boolean; kind: Kind };
type Option = { spec: OptionSpec; text: string; value: string };
type Line = { line: number; text: string };
type Context = { file: string; line: number; out: RequirementsContents; stack: string[] };

// pip's SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ.
const OPTIONS: OptionSpec[] = [
  { long: '--requirement', short: '-r', value: true, kind: 'requirement' },
  { long: '--constraint', short: '-c', value: true, kind: 'constraint' },
  { long: '--editable', short: '-e', value: true, kind: 'editable' },
  { long: '--hash', value: true, kind: 'hash' },
  { long: '--global-option', value: true, kind: 'per-requirement' },
  { long: '--config-settings', short: '-C', value: true, kind: 'per-requirement' },
  { long: '--index-url', short: '-i', value: true, kind: 'global' },
  { long: '--extra-index-url', value: true, kind: 'global' },
  { long: '--no-index', value: false, kind: 'global' },
  { long: '--find-links', short: '-f', value: true, kind: 'global' },
  { long: '--no-binary', value: true, kind: 'global' },
  { long: '--only-binary', value: true, kind: 'global' },
  { long: '--prefer-binary', value: false, kind: 'global' },
  { long: '--require-hashes', value: false, kind: 'global' },
  { long: '--pre', value: false, kind: 'global' },
  { long: '--trusted-host', value: true, kind: 'global' },
  { long: '--use-feature', value: true, kind: 'global' },
];

const URL_SCHEME = /^([a-z][a-z0-9+.-]*:\/\/|(git|hg|svn|bzr)\+|file:)/i;
const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar\.lz|tlz|tar\.lzma)$/i;
const STRONG_HASHES = ['sha256', 'sha384', 'sha512'];

/**
 * Reads a requirements file and every file it includes. `-c` files (and their `-c` includes) give
 * `constraints`; a `-r` include gives requirements even inside a constraints file, as in pip.
 * Index and global options, per-requirement build options, `-e` and bare URLs or paths (which no
 * index serves) are listed in `notes` with `file:line`. `${VAR}` is left as written.
 * @throws InputError naming the file and line for a syntax error, an unknown option, a bad
 *   `--hash`, an include that is missing, remote or cyclic (naming the including file), or an
 *   unreadable top-level file.
 */
export async function readRequirements(file: string): Promise<RequirementsContents> {
  const out: RequirementsContents = { requirements: [], constraints: [], notes: [] };
  const text = await readInput(file, 'requirements file');
  await readInto(file, text, false, { file, line: 0, out, stack: [resolve(file)] });
  return out;
}

async function readInto(file: string, text: string, constraint: boolean, parent: Context): Promise<void> {
  for (const { line, text: content } of logicalLines(text)) {
    const ctx: Context = { ...parent, file, line };
    const { args, options } = splitLine(content, ctx);
    if (args) {
      addRequirement(args, options, constraint, ctx);
      continue;
    }
    for (const option of options) await applyOption(option, ctx);
  }
}

/** pip's preprocess: join `\` continuations (not across comment lines), then strip comments. */
export function logicalLines(text: string): Line[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const joined: Line[] = [];
  let pending: Line | undefined;
  lines.forEach((raw, index) => {
    const isComment = /^\s*#/.test(raw);
    if (!raw.endsWith('\\') || isComment) {
      // A comment ends a continuation; pip prefixes a space so the comment is still stripped.
      const text = isComment ? ` ${raw}` : raw;
      if (pending) joined.push({ line: pending.line, text: pending.text + text });
      else joined.push({ line: index + 1, text });
      pending = undefined;
      return;
    }
    const part = raw.replace(/\\+$/, '');
    pending = pending ? { line: pending.line, text: pending.text + part } : { line: index + 1, text: part };
  });
  if (pending) joined.push(pending);
  return joined.map((l) => ({ line: l.line, text: l.text.replace(/(^|\s+)#.*$/, '').trim() })).filter((l) => l.text);
}

/** pip's break_args_options: the requirement runs to the first token that starts with `-`. */
function splitLine(content: string, ctx: Context): { args: string; options: Option[] } {
  const tokens = content.split(/[ \t]/);
  const first = tokens.findIndex((t) => t.startsWith('-'));
  const args = (first < 0 ? tokens : tokens.slice(0, first)).join(' ').trim();
  const rest = first < 0 ? '' : tokens.slice(first).join(' ');
  return { args, options: parseOptions(shellSplit(rest, ctx), ctx) };
}

function parseOptions(words: string[], ctx: Context): Option[] {
  const options: Option[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-') || word === '-') {
      ctx.out.notes.push(`${ctx.file}:${ctx.line}: ${JSON.stringify(redact(word))} ignored (pip ignores extra arguments after options)`);
      continue;
    }
    const long = word.startsWith('--');
    const eq = word.indexOf('=');
    const name = long ? (eq < 0 ? word : word.slice(0, eq)) : word.slice(0, 2);
    const spec = long ? findLong(name) : OPTIONS.find((o) => o.short === name);
    if (!spec) throw lineError(ctx, `unknown option ${name}`);
    let value = '';
    if (spec.value) {
      const inline = long ? (eq < 0 ? undefined : word.slice(eq + 1)) : word.slice(2) || undefined;
      value = inline ?? words[++i] ?? '';
      if (inline === undefined && i >= words.length) throw lineError(ctx, `${spec.long} needs a value`);
    } else if (long && eq >= 0) {
      throw lineError(ctx, `${spec.long} takes no value`);
    }
    options.push({ spec, text: `${spec.short && !long ? spec.short : spec.long}`, value });
  }
  return options;
}

/** optparse accepts any unambiguous prefix of a long option (`--extra-index`). */
function findLong(name: string): OptionSpec | undefined {
  const exact = OPTIONS.find((o) => o.long === name);
  if (exact) return exact;
  const prefixed = OPTIONS.filter((o) => o.long.startsWith(name));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

function addRequirement(args: string, options: Option[], constraint: boolean, ctx: Context): void {
  const where = `${ctx.file}:${ctx.line}`;
  const hashes: string[] = [];
  for (const option of options) {
    if (option.spec.kind === 'hash') {
      const digest = readHash(option.value, ctx);
      if (digest) hashes.push(digest);
    } else {
      const why = option.spec.kind === 'per-requirement' ? 'a build option' : 'pip ignores it after a requirement';
      ctx.out.notes.push(`${where}: ${describe(option)} ignored (${why})`);
    }
  }
  const direct = directReference(args);
  if (direct !== undefined) {
    ctx.out.notes.push(`${where}: ${redact(direct)} is a direct URL or path, which no index serves; skipped`);
    return;
  }
  const req: Requirement = { ...parseRequirement(args, where, ctx.file), hashes };
  (constraint ? ctx.out.constraints : ctx.out.requirements).push(req);
}

/** `--hash=sha256:<hex>`; sha384 and sha512 (which pip also allows) are noted and not kept. */
function readHash(value: string, ctx: Context): string | undefined {
  const [algorithm = '', digest = ''] = value.split(':', 2);
  if (!STRONG_HASHES.includes(algorithm)) {
    throw lineError(ctx, `--hash=${value}: expected sha256:<hex digest> (pip allows sha256, sha384, sha512)`);
  }
  if (algorithm !== 'sha256') {
    ctx.out.notes.push(`${ctx.file}:${ctx.line}: --hash=${algorithm}:… ignored; offline verifies sha256`);
    return undefined;
  }
  if (!/^[0-9a-f]{64}$/i.test(digest)) throw lineError(ctx, `--hash=${value}: not a sha256 hex digest`);
  return digest.toLowerCase();
}

/** A bare URL (`https://…/x.whl`, `git+https://…`) or path (`./pkg`, `x-1.0.tar.gz`), not `name @ url`. */
function directReference(args: string): string | undefined {
  const first = args.split(/[\s;]/, 1)[0] ?? '';
  if (URL_SCHEME.test(first)) return first;
  const at = first.indexOf('@');
  if (at > 0 && !/[/\\]/.test(first.slice(0, at))) return undefined;
  if (/^[.~/\\]/.test(first) || /[/\\]/.test(first) || ARCHIVE.test(first)) return first;
  return undefined;
}

async function applyOption(option: Option, ctx: Context): Promise<void> {
  const where = `${ctx.file}:${ctx.line}`;
  const { kind } = option.spec;
  if (kind === 'requirement' || kind === 'constraint') return include(option.value, kind === 'constraint', ctx);
  if (kind === 'editable') {
    ctx.out.notes.push(`${where}: -e ${redact(option.value)}: an editable install is not mirrorable; skipped`);
    return;
  }
  const why = kind === 'global' ? 'the mirror serves its own index' : kind === 'hash' ? 'no requirement on the line' : 'a build option';
  ctx.out.notes.push(`${where}: ${describe(option)} ignored (${why})`);
}

async function include(target: string, constraint: boolean, ctx: Context): Promise<void> {
  const flag = constraint ? '-c' : '-r';
  if (URL_SCHEME.test(target)) {
    throw lineError(ctx, `${flag} ${target}: offline does not fetch requirements files from URLs; download it and name the local copy`);
  }
  const path = isAbsolute(target) ? target : join(dirname(ctx.file), target);
  const absolute = resolve(path);
  if (ctx.stack.includes(absolute)) {
    throw lineError(ctx, `${flag} ${target} is an include cycle: ${[...ctx.stack, absolute].join(' -> ')}`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(ctx.file, `line ${ctx.line}`, `cannot read ${flag} ${target} (${path}): ${reason(err)}`, { cause: err });
  }
  await readInto(path, text, constraint, { ...ctx, stack: [...ctx.stack, absolute] });
}

/** A POSIX shell-like split (quotes and backslashes), as pip's shlex.split of the options. */
function shellSplit(text: string, ctx: Context): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      if (close < 0) throw lineError(ctx, `no closing quotation in ${JSON.stringify(text)}`);
      word = (word ?? '') + text.slice(i + 1, close);
      i = close;
    } else if (ch === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function describe(option: Option): string {
  return option.value ? `${option.text} ${redact(option.value)}` : option.text;
}

/** Hides credentials in URLs (`https://user:token@host/` → `https://***@host/`) before they reach notes. */
function redact(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}

function lineError(ctx: Context, message: string): InputError {
  return new InputError(ctx.file, `line ${ctx.line}`, message);
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'a directory, not a file';
  return (err as Error).message;
}
