import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../ecosystems/config.ts';
import { imageSettings } from '../core/env.ts';
import { readServingCa } from '../foundation/tls.ts';
import { CommandError } from '../foundation/errors.ts';
import { BASE_LABEL, deriveImage, MANIFEST_LABEL, mirroredImage, parsePlatform, SETTINGS_LABEL, writeArchive, type Platform } from '../ecosystems/docker/index.ts';
import { must, type Runner } from '../net/runner.ts';

/** Where a daemon image offline replaced is kept until `offline down` puts it back. */
export const ORIGINAL_PREFIX = 'offline-original/';

export type BaseImagesReport = {
  platform: string;
  /** Loaded now: the name, and the name of the daemon's own image kept aside, if there was one. */
  loaded: Array<{ name: string; kept?: string }>;
  /** Already in the daemon as offline derived it for these settings. */
  unchanged: string[];
  /** Could not be loaded, and why (not mirrored, wrong platform, digest only). */
  problems: Array<{ spec: string; message: string }>;
};

/** `node:22` → `offline-original/node:22`; a registry port's `:` is not allowed in a path component. */
export function originalName(name: string): string {
  const colon = name.lastIndexOf(':');
  return `${ORIGINAL_PREFIX}${name.slice(0, colon).replace(/:/g, '_')}${name.slice(colon)}`;
}

type Inspected = { id: string; labels: Record<string, string> };

async function inspect(run: Runner, name: string): Promise<Inspected | undefined> {
  const r = await run(['docker', 'image', 'inspect', '--format', '{{json .Id}} {{json .Config.Labels}}', name]);
  if (r.code !== 0) return undefined;
  const [id, labels] = r.stdout.trim().split(' ');
  return { id: JSON.parse(id!) as string, labels: (JSON.parse(labels ?? 'null') as Record<string, string> | null) ?? {} };
}

/** The daemon's platform (`linux/amd64`), as its server reports it in Go's names. */
export async function daemonPlatform(run: Runner): Promise<Platform> {
  const r = await must(run, ['docker', 'version', '--format', '{{.Server.Os}}/{{.Server.Arch}}']);
  return parsePlatform(r.stdout.trim());
}

/**
 * Put every image in `docker.images` into the daemon under its own name, from the Docker mirror's
 * store (`docker load`: no registry, no daemon.json), as the image plus the client settings for
 * the mirrors on `address` and offline's labels. An image of that name the daemon had that is not
 * offline's is first kept aside as `offline-original/<name>`. Idempotent: an image already loaded
 * for the same manifest and settings is left alone. An image that cannot be loaded is a problem in
 * the report; the others are still loaded.
 */
export async function installBaseImages(config: Config, run: Runner, address: string): Promise<BaseImagesReport> {
  const platform = await daemonPlatform(run);
  const report: BaseImagesReport = { platform: `${platform.os}/${platform.architecture}`, loaded: [], unchanged: [], problems: [] };
  if (config.docker.images.length === 0) return report;
  const dir = join(config.data, 'docker');
  const additions = imageSettings(config, address, await readServingCa(config.data));
  for (const spec of config.docker.images) {
    try {
      const image = await mirroredImage(dir, spec, platform);
      const current = await inspect(run, image.name);
      const derived = await deriveImage(dir, image, additions);
      if (current?.id === derived.configDigest) {
        report.unchanged.push(image.name);
        continue;
      }
      let kept: string | undefined;
      if (current && current.labels[BASE_LABEL] !== image.name) {
        kept = originalName(image.name);
        await must(run, ['docker', 'tag', current.id, kept]);
      }
      await load(dir, derived);
      const loaded = await inspect(run, image.name);
      if (loaded?.id !== derived.configDigest) throw new Error(`docker load did not give ${image.name} the image ${derived.configDigest} (it has ${loaded?.id ?? 'none'})`);
      report.loaded.push({ name: image.name, ...(kept ? { kept } : {}) });
    } catch (err) {
      report.problems.push({ spec, message: (err as Error).message });
    }
  }
  return report;
}

/** Stream the image's archive into `docker load`. */
async function load(dir: string, image: Awaited<ReturnType<typeof deriveImage>>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'offline-load-'));
  try {
    const child = spawn('docker', ['load', '--quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? 1));
    });
    const written = writeArchive(dir, image, work, child.stdin).catch((err: unknown) => err as Error);
    const [code, failure] = await Promise.all([exited, written]);
    if (code !== 0) throw new CommandError(['docker', 'load'], code, output.trim());
    if (failure) throw failure;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export type RestoreReport = { restored: string[]; removed: string[]; problems: string[] };

/**
 * Undo `installBaseImages`: every name whose image carries offline's label for that very name
 * (images built FROM one inherit the label, but under another name, so they are left alone) gets
 * its kept original back, or is untagged when the daemon had none. Then the kept names go.
 */
export async function restoreBaseImages(run: Runner): Promise<RestoreReport> {
  const report: RestoreReport = { restored: [], removed: [], problems: [] };
  const listed = await run(['docker', 'image', 'ls', '--filter', `label=${BASE_LABEL}`, '--format', '{{.Repository}}:{{.Tag}}']);
  if (listed.code !== 0) {
    report.problems.push(`cannot list images: ${listed.stderr.trim()}`);
    return report;
  }
  for (const name of new Set(listed.stdout.split('\n').filter((n) => n && !n.includes('<none>')))) {
    const current = await inspect(run, name);
    if (!current || current.labels[BASE_LABEL] !== name || !current.labels[MANIFEST_LABEL] || !current.labels[SETTINGS_LABEL]) continue;
    const kept = originalName(name);
    const original = await inspect(run, kept);
    const step = original ? ['docker', 'tag', original.id, name] : ['docker', 'image', 'rm', '--force', '--no-prune', name];
    const r = await run(step);
    if (r.code !== 0) {
      report.problems.push(`${step.join(' ')}: ${r.stderr.trim()}`);
      continue;
    }
    if (original) {
      await run(['docker', 'image', 'rm', '--no-prune', kept]);
      report.restored.push(name);
    } else {
      report.removed.push(name);
    }
  }
  return report;
}
