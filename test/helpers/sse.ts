/**
 * A server-sent events client for tests: reads `event:`/`data:` frames as they arrive, one
 * `next()` at a time; `next()` resolves undefined once the server has ended the stream.
 */
import { request } from 'node:http';

export type SseEvent = { event: string; data: string };
export type SseStream = { status: number; type: string; next(): Promise<SseEvent | undefined>; close(): void };

export function openEvents(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      const queue: Array<SseEvent | undefined> = [];
      const waiting: Array<(e: SseEvent | undefined) => void> = [];
      const push = (e: SseEvent | undefined) => (waiting.length > 0 ? waiting.shift()!(e) : queue.push(e));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => frame.split('\n').filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart()).join('\n');
          push({ event: field('event') || 'message', data: field('data') });
        }
      });
      res.on('end', () => push(undefined));
      res.on('close', () => push(undefined));
      resolve({
        status: res.statusCode ?? 0,
        type: String(res.headers['content-type'] ?? ''),
        next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
