import { parse, TomlError } from 'smol-toml';
import { InputError } from '../../foundation/errors.ts';

/** What the TOML lockfile parsers (poetry.lock, uv.lock) share. */
export type Table = Record<string, unknown>;

/** Parse TOML; a syntax error is an `InputError` naming the file, line and column. */
export function parseToml(file: string, text: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    const first = (err as Error).message.split('\n')[0];
    throw new InputError(file, undefined, `invalid TOML: ${first}${where}`, { cause: err });
  }
}

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
