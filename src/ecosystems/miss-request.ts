import type { MissRequest } from './types.ts';

/**
 * The path of a 404'd request that could be a client's want, decoded, without its query:
 * undefined for anything but GET and HEAD (a publish is not a want) and for malformed escapes.
 */
export function missedPath(request: MissRequest): string | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  try {
    return decodeURIComponent(request.path.split('?')[0]!);
  } catch {
    return undefined;
  }
}
