/**
 * Project and extra names: PEP 508 validity and PEP 503 normalization.
 */

// PEP 508 names: letters, digits, `.`, `_`, `-`; starting and ending with a letter or digit.
const NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`. Pure; any string is accepted. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** True when `name` is a valid PEP 508 project (or extra) name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}
