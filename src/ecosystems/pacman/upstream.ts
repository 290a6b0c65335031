/** `pacman.upstream` is a mirrorlist-style template: `https://host/$repo/os/$arch`. */
export function repoBase(template: string, repo: string, arch: string): string {
  return template.replaceAll('$repo', repo).replaceAll('$arch', arch).replace(/\/+$/, '');
}

export function dbUrl(template: string, repo: string, arch: string): string {
  return `${repoBase(template, repo, arch)}/${repo}.db`;
}
