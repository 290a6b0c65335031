import { readFile } from 'node:fs/promises';
import { InputError } from './errors.ts';

/**
 * Read an input file the config names (a lockfile, a requirements file). A missing or unreadable
 * file is an `InputError` naming it and saying why, never a raw ENOENT.
 */
export async function readInput(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new InputError(file, undefined, `cannot read the ${what}: ${reason}`, { cause: err });
  }
}
