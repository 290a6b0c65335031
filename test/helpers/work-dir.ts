/**
 * Temporary directories for tests that start mirrors. `offline serve` and `offline up` started by
 * root (as CI runs the tests) bind and then serve as the data directory's owner or `nobody`, who
 * must be able to read the data — as in a user's home (0755), not a private mkdtemp (0700).
 */
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function workDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}
