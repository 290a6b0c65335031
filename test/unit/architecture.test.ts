/**
 * The shape of src/, as docs/architecture.md draws it: imports only go down the layers, an
 * ecosystem folder is reached from outside only through its index.ts (and its schema.ts by the
 * config), no ecosystem imports another, and no file outside an ecosystem folder speaks an
 * ecosystem's protocol (its hosts, URL paths, media types, file formats).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Layers from the top (0) down; a file may import its own layer or lower ones. */
function layer(file: string): number {
  if (file.startsWith('cli/')) return 0;
  if (file.startsWith('controller/')) return 1;
  if (file.startsWith('core/') || file.startsWith('park/')) return 2;
  if (file === 'ecosystems/index.ts') return 3;
  if (/^ecosystems\/[^/]+\/schema\.ts$/.test(file)) return 6;
  if (/^ecosystems\/[^/]+\//.test(file)) return 4;
  if (file.startsWith('ecosystems/')) return 5;
  if (file.startsWith('engine/') || file.startsWith('net/')) return 7;
  if (file.startsWith('foundation/')) return 8;
  if (file.startsWith('types/')) return 9;
  throw new Error(`${file}: not in any layer of docs/architecture.md; put it in one`);
}

const LAYER_NAMES = ['cli', 'the controller (koa app over the verbs)', 'verbs (core, park)', 'the mirror registry', 'an ecosystem', 'ecosystem shared types and config', 'engine and net', 'foundation', 'ambient types'];

/** `ecosystems/npm/plan.ts` → `npm`. */
function ecosystemOf(file: string): string | undefined {
  return /^ecosystems\/([^/]+)\//.exec(file)?.[1];
}

async function sources(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(SRC, { recursive: true })) {
    if (entry.endsWith('.ts')) out.set(entry.split('\\').join('/'), await readFile(join(SRC, entry), 'utf8'));
  }
  return out;
}

function imports(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

test('imports only go down the layers; ecosystems are reached through their index and never import each other', async () => {
  const problems: string[] = [];
  for (const [file, text] of await sources()) {
    for (const spec of imports(text)) {
      const target = relative(SRC, resolve(SRC, dirname(file), spec)).split('\\').join('/');
      if (layer(target) < layer(file)) problems.push(`${file} imports ${target}: ${LAYER_NAMES[layer(file)]} must not import ${LAYER_NAMES[layer(target)]} (a higher layer)`);
      const from = ecosystemOf(file);
      const to = ecosystemOf(target);
      if (to && from && from !== to) problems.push(`${file} imports ${target}: one ecosystem must not import another`);
      if (to && !from && !/\/(index|schema)\.ts$/.test(target)) problems.push(`${file} imports ${target}: outside its folder an ecosystem is reached through its index.ts`);
      if (to && !from && target.endsWith('/schema.ts') && file !== 'ecosystems/config.ts') problems.push(`${file} imports ${target}: only ecosystems/config.ts composes the sections`);
    }
  }
  assert.deepEqual(problems, []);
});

/** What only an ecosystem's own folder may say: its hosts, paths, media types and file formats. */
const PROTOCOL = [
  /registry\.npmjs\.org|registry\.yarnpkg\.com|codeload\.github\.com|pypi\.org|pkgbuild\.com|registry-1\.docker\.io/,
  /['"`/]-\/|\/simple\/|\/v2\/|\$repo|\$arch/,
  /application\/vnd\./,
  /\.whl\b|\.tgz\b|\.pkg\.tar|\.db\.tar|dist-info|PKG-INFO|%[A-Z]+%/,
  /packument|sha256:[a-f0-9]/,
];

/** Code only: comments may name anything. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('no file outside an ecosystem folder names an ecosystem protocol', async () => {
  const problems: string[] = [];
  for (const [file, text] of await sources()) {
    if (ecosystemOf(file)) continue;
    code(text).split('\n').forEach((line, i) => {
      for (const marker of PROTOCOL) {
        const m = marker.exec(line);
        if (m) problems.push(`${file}:${i + 1}: ${JSON.stringify(m[0])} belongs in src/ecosystems/<name>/`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

test('every ecosystem folder has the same kinds of files', async () => {
  const KINDS = ['README.md', 'index.ts', 'schema.ts', 'names.ts', 'upstream.ts', 'plan.ts', 'serve.ts', 'status.ts', 'check.ts', 'clients.ts', 'scan.ts', 'misses.ts', 'types.ts'];
  const folders = (await readdir(join(SRC, 'ecosystems'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.ok(folders.length >= 4);
  const missing: string[] = [];
  for (const folder of folders) {
    const files = new Set(await readdir(join(SRC, 'ecosystems', folder)));
    for (const kind of KINDS) if (!files.has(kind)) missing.push(`ecosystems/${folder}/${kind}`);
  }
  assert.deepEqual(missing, []);
});
