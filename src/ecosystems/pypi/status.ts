import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MirrorStatus } from '../types.ts';
import { STATE_FILE, type PypiState } from './commit.ts';
import { listProjects, readStoredProject } from './storage.ts';

/** Projects, files and bytes the PyPI mirror serves, and the targets of the last sync. */
export async function statusPypi(dir: string): Promise<MirrorStatus & { targets: string[] }> {
  let files = 0;
  let bytes = 0;
  const projects = await listProjects(dir);
  for (const name of projects) {
    const project = await readStoredProject(dir, name);
    for (const f of project?.files ?? []) {
      files++;
      bytes += f.size;
    }
  }
  const state = await readFile(join(dir, STATE_FILE), 'utf8').then((t) => JSON.parse(t) as PypiState).catch(() => undefined);
  return { name: 'pypi', counts: { projects: projects.length, files, bytes }, targets: state?.targets ?? [] };
}
