import { createHash, type Hash } from 'node:crypto';
import ssri from 'ssri';

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

/** `sha1`, `sha256` … hex digests (npm's `shasum`, PEP 503's `#sha256=`, OCI digests) as SRI. */
export function sriFromHex(algorithm: 'sha1' | 'sha256' | 'sha512', hex: string): string {
  return `${algorithm}-${Buffer.from(hex, 'hex').toString('base64')}`;
}

/** For files with no digest to check (see `DownloadItem.integrity`): accepts any bytes. */
function UNVERIFIED(): Verifier {
  return { update() {}, actual: () => 'unverified', expected: 'unverified', matches: () => true };
}
