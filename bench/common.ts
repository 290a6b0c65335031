/** What every benchmark shares: timing, failing loudly, and a fixed-client throughput probe. */
import pLimit from 'p-limit';
import { Agent, request } from 'undici';

export type BenchRow = { name: string; seconds: number };

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [(performance.now() - start) / 1000, result];
}

export function must(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
}

/**
 * GET every URL `rounds` times, 8 in flight over keep-alive, reading every byte; bytes per
 * second. The same client measures the mirror and its peer, so the ratio compares the servers.
 */
export async function throughput(urls: string[], rounds: number): Promise<number> {
  const agent = new Agent({ connections: 8 });
  const limit = pLimit(8);
  let bytes = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: rounds }, () => urls).flat().map((url) => limit(async () => {
    const res = await request(url, { dispatcher: agent });
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  })));
  await agent.close();
  return bytes / ((performance.now() - start) / 1000);
}
