import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import ssri from 'ssri';
import { UnsafeInputError } from '../foundation/errors.ts';

/**
 * Verifies bytes against a Subresource Integrity string (`sha512-…`, `sha256-…`, `sha1-…`,
 * several separated by spaces). As npm does, the strongest algorithm present decides; any of its
 * digests may match. Other ecosystems convert their hex digests with `sriFromHex`.
 */
export type Verifier = {
  update(chunk: Uint8Array): void;
  /** The computed digest in SRI form for the deciding algorithm. */
  actual(): string;
  /** The expected digest(s) for the deciding algorithm, in SRI form. */
  expected: string;
  matches(): boolean;
};

export function createVerifier(integrity: string | undefined): Verifier {
  if (integrity === undefined) return UNVERIFIED();
  const parsed = ssri.parse(integrity);
  const algorithm = parsed.pickAlgorithm();
  const expectedHashes = (parsed as unknown as Record<string, Array<{ digest: string }>>)[algorithm] ?? [];
  const hash: Hash = createHash(algorithm);
  let digest: string | undefined;
  const verifier: Verifier = {
    update(chunk) {
      hash.update(chunk);
    },
    actual() {
      digest ??= hash.digest('base64');
      return `${algorithm}-${digest}`;
    },
    expected: expectedHashes.map((h) => `${algorithm}-${h.digest}`).join(' '),
    matches() {
      verifier.actual();
      return expectedHashes.some((h) => h.digest === digest);
    },
  };
  return verifier;
}

/** True when the string holds at least one digest ssri understands. */
export function isValidIntegrity(integrity: string | undefined): integrity is string {
  if (!integrity) return false;
  try {
    const parsed = ssri.parse(integrity);
    return Boolean(parsed && Object.keys(parsed).length > 0 && parsed.pickAlgorithm());
  } catch {
    return false;
  }
}

const HEX_LENGTH = { sha1: 40, sha256: 64, sha512: 128 } as const;

/**
 * `sha1`, `sha256` … hex digests (npm's `shasum`, PEP 503's `#sha256=`, OCI digests) as SRI.
 * The hex must be exactly the algorithm's length: Node's hex decoder stops at the first non-hex
 * character, so `<64 hex>/../../x` would otherwise pass as its prefix. @throws UnsafeInputError.
 */
export function sriFromHex(algorithm: 'sha1' | 'sha256' | 'sha512', hex: string): string {
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/i.test(hex)) throw new UnsafeInputError(`${algorithm} digest`, hex, `not ${HEX_LENGTH[algorithm]} hex digits`);
  return `${algorithm}-${Buffer.from(hex, 'hex').toString('base64')}`;
}

/** For files with no digest to check (see `DownloadItem.integrity`): accepts any bytes. */
function UNVERIFIED(): Verifier {
  return { update() {}, actual: () => 'unverified', expected: 'unverified', matches: () => true };
}

/**
 * Whether the file at `path` holds exactly the bytes `integrity` describes (streamed, any size).
 * False for a missing or unreadable file; true when there is no digest to check against.
 */
export async function fileMatches(path: string, integrity: string | undefined): Promise<boolean> {
  if (!isValidIntegrity(integrity)) return (await stat(path).catch(() => undefined))?.isFile() ?? false;
  const verifier = createVerifier(integrity);
  try {
    for await (const chunk of createReadStream(path)) verifier.update(chunk as Buffer);
  } catch {
    return false;
  }
  return verifier.matches();
}

/** The sha512 SRI string and size of the file at `path` (a file no index gave a digest for, kept once verified otherwise). */
export async function sriFromFile(path: string): Promise<{ integrity: string; size: number }> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { integrity: `sha512-${hash.digest('base64')}`, size };
}
