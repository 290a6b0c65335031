/**
 * `node bench/profile-top.ts FILE.cpuprofile [N]`: the N functions with the most self time in a
 * V8 CPU profile (node --cpu-prof), and the share of the run the process was idle — waiting on
 * the network or the disk — which is what a sync at the latency bound should mostly be.
 */
import { readFile } from 'node:fs/promises';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

const [file, n = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-top.ts FILE.cpuprofile [N]');
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)!.callFrame;
  const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = profile.endTime - profile.startTime;
console.log(`run: ${(total / 1e6).toFixed(2)} s`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${(us / 1e3).toFixed(0).padStart(7)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`);
}
