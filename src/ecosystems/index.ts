import { dockerMirror } from './docker/index.ts';
import { npmMirror } from './npm/index.ts';
import { pacmanMirror } from './pacman/index.ts';
import { pypiMirror } from './pypi/index.ts';
import type { Mirror } from './types.ts';
import type { Config } from './config.ts';

/** Every mirror offline has, in the order they sync and serve. The one place ecosystems are listed. */
export const MIRRORS: readonly Mirror[] = [npmMirror, pypiMirror, pacmanMirror, dockerMirror];

/** The mirrors `serve`, `up` and `status` act on: those the config has a section for (all with `--all`). */
export function servedMirrors(config: Config): Mirror[] {
  return MIRRORS.filter((m) => config.mirrors.includes(m.name));
}

/** Every outside name a served mirror answers on the isolated network (docs/adr/0009), in a stable order. */
export function outsideNames(config: Config): string[] {
  return [...new Set(servedMirrors(config).flatMap((m) => m.names?.(config) ?? []))];
}

/** The port outside names are answered on: https's own, since clients fetch their URLs as written. */
export const HTTPS_PORT = 443;

/** Every port the mirrors listen on with `up`: each mirror's, and https's when outside names are answered. */
export function mirrorPorts(config: Config): number[] {
  return [...servedMirrors(config).map((m) => m.port(config)), ...(outsideNames(config).length > 0 ? [HTTPS_PORT] : [])];
}
