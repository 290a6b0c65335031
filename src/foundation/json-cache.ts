import { readFile, stat } from 'node:fs/promises';

/**
 * JSON documents kept parsed while the file is unchanged, for serving: each call stats the file
 * and reads it again only when its inode, size, mtime or ctime differ. Writers replace files by
 * rename (foundation/atomic.ts), which gives a new inode, so a published change is seen by the
 * next request, with no watcher and no delay. The path is built by `where`, which may refuse a
 * request's name by throwing (containedPath's UnsafeInputError): then, as for a missing or
 * unparseable file, the document is undefined. Callers share the parsed value: they must not
 * change it. At most `max` documents are kept.
 */
export function createJsonCache<T>(max = 4096): (where: () => string) => Promise<T | undefined> {
  const cache = new Map<string, { key: string; value: T }>();
  return async (where) => {
    let path: string;
    try {
      path = where();
    } catch {
      return undefined;
    }
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const key = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    const hit = cache.get(path);
    if (hit?.key === key) return hit.value;
    try {
      const value = JSON.parse(await readFile(path, 'utf8')) as T;
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(path, { key, value });
      return value;
    } catch {
      return undefined;
    }
  };
}
