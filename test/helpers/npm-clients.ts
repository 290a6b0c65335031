/**
 * The shell commands that install a fixture project with its own real client against a registry
 * URL: npm ci for every project, and the native client for yarn and pnpm lockfiles.
 */
import { join } from 'node:path';
import { TOOLS, type ProjectKind } from './npm-projects.ts';

function node(): string {
  return `'${process.execPath}'`;
}

/** `npm ci` with the npm v3 lockfile of the same tree swapped in. */
export function npmCiScript(project: string, registry: string): string {
  return [
    `cd '${project}'`,
    'rm -rf node_modules package-lock.json npm-shrinkwrap.json',
    'cp package-lock.npm.json package-lock.json',
    `npm ci --registry '${registry}' --ignore-scripts --no-audit --no-fund --prefer-online`,
  ].join(' && ');
}

/** The project's own client, where it is not npm; `undefined` for npm lockfiles. */
export function nativeInstallScript(kind: ProjectKind, project: string, registry: string, home: string): string | undefined {
  const reset = `cd '${project}' && rm -rf node_modules .yarn package-lock.json`;
  switch (kind) {
    case 'yarn-classic':
      return `${reset} && ${node()} '${TOOLS.yarn1}' install --frozen-lockfile --ignore-scripts --non-interactive --no-progress ` +
        `--no-default-rc --registry '${registry}' --cache-folder '${join(home, 'yarn1-cache')}'`;
    case 'yarn-berry':
      return `${reset} && YARN_NPM_REGISTRY_SERVER='${registry.replace(/\/$/, '')}' YARN_UNSAFE_HTTP_WHITELIST=127.0.0.1 ` +
        `YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0 YARN_GLOBAL_FOLDER='${join(home, 'berry')}' YARN_ENABLE_SCRIPTS=false ` +
        `YARN_IGNORE_PATH=1 YARN_ENABLE_IMMUTABLE_INSTALLS=true ${node()} '${TOOLS.berry}' install --immutable`;
    case 'pnpm-v6':
    case 'pnpm-v9':
      return `${reset} && ${node()} '${kind === 'pnpm-v6' ? TOOLS.pnpm8 : TOOLS.pnpm9}' install --frozen-lockfile --ignore-scripts ` +
        `--reporter=append-only --registry '${registry}' --store-dir '${join(home, `${kind}-store`)}'`;
    default:
      return undefined;
  }
}
