/**
 * An upstream whose answers are scripted per path, for the HTTP client's tests: each request to a
 * path takes the next answer of its script, and the last one repeats. Every request is recorded
 * with the headers the client's behaviour shows in (authorization, range).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFixtureServer } from './fixture-server.ts';

export type Answer = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type Seen = { path: string; authorization?: string; range?: string };

export type ScriptedServer = {
  base: string;
  seen: Seen[];
  /** Answer `path` with `answers` in turn (the last repeats); returns the path's URL. */
  script(path: string, ...answers: Answer[]): string;
  /** The requests made to `path`. */
  requestsTo(path: string): Seen[];
  close(): Promise<void>;
};

export async function startScriptedServer(): Promise<ScriptedServer> {
  const scripts = new Map<string, Answer[]>();
  const seen: Seen[] = [];
  const server = await startFixtureServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname;
    seen.push({ path, authorization: req.headers.authorization, range: req.headers.range });
    const answers = scripts.get(path);
    if (!answers) return void res.writeHead(404).end();
    return (answers.length > 1 ? answers.shift()! : answers[0]!)(req, res);
  });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    base,
    seen,
    script(path, ...answers) {
      scripts.set(path, answers);
      return `${base}${path}`;
    },
    requestsTo: (path) => seen.filter((s) => s.path === path),
    close: server.close,
  };
}

/** A status with optional headers and body. */
export function status(code: number, headers: Record<string, string> = {}, body?: string | Buffer): Answer {
  return (_req, res) => void res.writeHead(code, headers).end(body);
}

/** 200 with `body`; a Range `bytes=N-` is answered 206 with the rest. */
export function serve(body: Buffer, opts: { ranges?: boolean } = {}): Answer {
  return (req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (!range || opts.ranges === false) return void res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    const start = Number(range[1]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': String(body.length - start) });
    res.end(body.subarray(start));
  };
}

/**
 * Headers announcing all of `body`, its first `sent` bytes, then the connection dropped once
 * `received()` resolves (so the client is known to hold those bytes), or at once.
 */
export function resetAfter(body: Buffer, sent: number, received?: () => Promise<void>): Answer {
  return async (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    await new Promise<void>((resolve) => res.write(body.subarray(0, sent), () => resolve()));
    await received?.();
    res.socket?.destroy();
  };
}
